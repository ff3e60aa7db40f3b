"""`InferenceBackend` over gRPC to a Triton Inference Server (`tritonclient.grpc.aio`).

Used against the production GPU servers and against the embedded pytriton server alike. Batches larger
than a model's `max_batch_size` are split and sent concurrently, which Triton's dynamic batcher then
packs as it sees fit.

Face crops travel on this channel, so it is TLS whenever the service's gRPC TLS is configured: the
composition root passes `lfr_platform.grpc_security.channel_credentials(url, settings)` (the service's
own certificate, for Triton's mutual TLS); None means plaintext, which that function allows only to a
loopback address in development (the embedded server).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import grpc
import numpy as np


class TritonBackend:
    name = "triton"

    def __init__(
        self, url: str, model_version: str = "", credentials: grpc.ChannelCredentials | None = None
    ) -> None:
        import tritonclient.grpc.aio as grpcclient

        self._grpc = grpcclient
        self._client = grpcclient.InferenceServerClient(url=url, creds=credentials)
        self._model_version = model_version
        self._max_batch: dict[str, int] = {}

    async def _max_batch_size(self, model: str) -> int:
        if model not in self._max_batch:
            config = await self._client.get_model_config(model, self._model_version, as_json=True)
            self._max_batch[model] = int(config["config"].get("max_batch_size", 0))
        return self._max_batch[model]

    async def _infer_once(
        self, model: str, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        from tritonclient.utils import np_to_triton_dtype

        requests = []
        for name, array in inputs.items():
            array = np.ascontiguousarray(array)
            tensor = self._grpc.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
            tensor.set_data_from_numpy(array)
            requests.append(tensor)
        wanted = [self._grpc.InferRequestedOutput(name) for name in outputs]
        result = await self._client.infer(model, requests, model_version=self._model_version, outputs=wanted)
        return {name: result.as_numpy(name) for name in outputs}

    async def infer(
        self, model: str, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        batch = len(next(iter(inputs.values())))
        limit = await self._max_batch_size(model)
        if limit <= 0 or batch <= limit:
            return await self._infer_once(model, inputs, outputs)
        chunks = await asyncio.gather(*(
            self._infer_once(model, {k: v[start : start + limit] for k, v in inputs.items()}, outputs)
            for start in range(0, batch, limit)
        ))
        return {name: np.concatenate([c[name] for c in chunks]) for name in outputs}

    async def is_ready(self, models: Sequence[str]) -> bool:
        """For readiness probes: the server is up and every model is loaded."""
        try:
            if not await self._client.is_server_ready():
                return False
            return all([await self._client.is_model_ready(m, self._model_version) for m in models])
        except Exception:  # an unreachable server is simply not ready
            return False

    async def statistics(self, model: str) -> dict[str, Any]:
        """Triton's per-model statistics (inference_count vs execution_count shows dynamic batching)."""
        stats = await self._client.get_inference_statistics(model, self._model_version, as_json=True)
        return dict(stats["model_stats"][0])

    async def close(self) -> None:
        await self._client.close()
