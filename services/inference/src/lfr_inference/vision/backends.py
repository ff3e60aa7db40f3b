"""Where the networks run: the `InferenceBackend` port and its in-process onnxruntime implementation.

The Triton implementation (`lfr_inference.adapters.triton_client.TritonBackend`) serves the very same ONNX
files from the model repository, so the two are interchangeable and give the same outputs.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from lfr_inference.arrays import AnyArray, Float32Array

#: Model names, identical in the Triton model repository and in the in-process backend.
PNET, RNET, ONET, EMBEDDER = "face_detector_pnet", "face_detector_rnet", "face_detector_onet", "face_embedder"
ALL_MODELS = (PNET, RNET, ONET, EMBEDDER)


class InferenceBackend(Protocol):
    """Runs one named model on one batch. Implementations must be safe to call concurrently.
    Every network here outputs float32."""

    name: str

    async def infer(
        self, model: str, inputs: Mapping[str, AnyArray], outputs: Sequence[str]
    ) -> dict[str, Float32Array]: ...

    async def close(self) -> None: ...


def default_model_repository() -> Path:
    """The repository's `deploy/triton`, found by walking up from this file (source checkouts, images)."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "deploy" / "triton"
        if (candidate / PNET).is_dir():
            return candidate
    raise FileNotFoundError("deploy/triton model repository not found; set its path explicitly")


def model_path(repository: Path, model: str, version: int = 1) -> Path:
    return repository / model / str(version) / "model.onnx"


class OnnxRuntimeBackend:
    """In-process onnxruntime on the CPU. Sessions run in worker threads (onnxruntime releases the GIL),
    so the event loop stays responsive and two frames can use both cores."""

    name = "onnxruntime"

    def __init__(
        self,
        repository: Path | None = None,
        models: Iterable[str] = ALL_MODELS,
        intra_op_threads: int = 1,
        parallelism: int | None = None,
        min_slice: int = 8,
    ) -> None:
        import onnxruntime as ort

        self.parallelism = parallelism or os.cpu_count() or 1
        self.min_slice = min_slice

        repository = repository or default_model_repository()
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        self._sessions = {
            model: ort.InferenceSession(
                str(model_path(repository, model)), sess_options=options, providers=["CPUExecutionProvider"]
            )
            for model in models
            if model_path(repository, model).is_file()
        }

    def run(
        self, model: str, inputs: Mapping[str, AnyArray], outputs: Sequence[str]
    ) -> dict[str, Float32Array]:
        """Synchronous call, for callers that are not on an event loop."""
        try:
            session = self._sessions[model]
        except KeyError:
            raise KeyError(f"model {model!r} is not loaded") from None
        results = session.run(list(outputs), dict(inputs))
        return dict(zip(outputs, results, strict=True))

    async def infer(
        self, model: str, inputs: Mapping[str, AnyArray], outputs: Sequence[str]
    ) -> dict[str, Float32Array]:
        # Each session uses one thread, so a big batch is split into `parallelism` slices run side by
        # side (the CPU counterpart of Triton running several instances).
        size = len(next(iter(inputs.values())))
        slices = min(self.parallelism, size // self.min_slice)
        if slices <= 1:
            return await asyncio.to_thread(self.run, model, inputs, outputs)
        bounds = np.linspace(0, size, slices + 1).astype(int)
        parts = await asyncio.gather(*(
            asyncio.to_thread(self.run, model, {k: v[a:b] for k, v in inputs.items()}, outputs)
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ))
        return {name: np.concatenate([part[name] for part in parts]) for name in outputs}

    async def close(self) -> None:
        self._sessions.clear()
