"""A real NVIDIA Triton Inference Server for the embedded mode and tests, from PyPI's `nvidia-pytriton`.

pytriton bundles `tritonserver` and serves Python callables through Triton's Python backend. We bind one
callable per model of the repository (`deploy/triton/<model>/1/model.onnx`), each running that same ONNX
file with onnxruntime on the CPU, under the production model names and tensor names, with Triton's dynamic
batcher in front. Clients (`TritonBackend`) cannot tell it from the GPU deployment, which serves the
files with Triton's onnxruntime backend instead.

The server runs in a child process (`python -m lfr_inference.adapters.triton_server ...`) so that neither
its threads nor its signal handling touch the service's event loop; `EmbeddedTritonServer` starts it,
waits until every model is ready and stops it with SIGTERM. Its gRPC endpoint is plaintext on 127.0.0.1
unless given `tls` (a certificate, and a CA to require client certificates: mutual TLS, as the
Kubernetes Triton serves); readiness is read over its HTTP endpoint, which stays on 127.0.0.1.

pytriton's Python backend stub links the system libpython: LD_LIBRARY_PATH must contain this interpreter's
LIBDIR, or model loading fails (with an `_thread.RLock` error).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from lfr_platform.settings import TlsSettings

from lfr_inference.vision.backends import ALL_MODELS, default_model_repository, model_path

_ONNX_TO_NUMPY = {"tensor(float)": np.float32, "tensor(uint8)": np.uint8, "tensor(int64)": np.int64}


def batching_of(repository: Path, model: str) -> tuple[int, int]:
    """(max_batch_size, max_queue_delay_microseconds) from the model's config.pbtxt, so the embedded
    server batches exactly like the production one."""
    config = (repository / model / "config.pbtxt").read_text()
    max_batch = re.search(r"max_batch_size:\s*(\d+)", config)
    delay = re.search(r"max_queue_delay_microseconds:\s*(\d+)", config)
    return (int(max_batch.group(1)) if max_batch else 0), (int(delay.group(1)) if delay else 0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bind_onnx_model(triton: Any, repository: Path, name: str, threads: int) -> None:
    import onnxruntime as ort
    from pytriton.decorators import batch
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        str(model_path(repository, name)), sess_options=options, providers=["CPUExecutionProvider"]
    )
    output_names = [o.name for o in session.get_outputs()]

    def spec(node: Any) -> Tensor:  # drop the batch dimension; symbolic dims become -1
        dims = tuple(d if isinstance(d, int) else -1 for d in node.shape[1:])
        return Tensor(name=node.name, dtype=_ONNX_TO_NUMPY[node.type], shape=dims)

    @batch  # type: ignore[untyped-decorator]  # pytriton ships no type information (no py.typed)
    def infer(**inputs: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(output_names, session.run(output_names, inputs), strict=True))

    max_batch, delay_us = batching_of(repository, name)
    triton.bind(
        model_name=name,
        infer_func=infer,
        inputs=[spec(i) for i in session.get_inputs()],
        outputs=[spec(o) for o in session.get_outputs()],
        config=ModelConfig(
            max_batch_size=max_batch, batcher=DynamicBatcher(max_queue_delay_microseconds=delay_us)
        ),
        strict=True,
    )


def grpc_tls_config(tls: TlsSettings | None) -> dict[str, Any]:
    """tritonserver's --grpc-use-ssl* options (as `TritonConfig` fields) for `tls`; none: plaintext."""
    if tls is None or tls.cert_file is None:
        return {}
    mutual = tls.ca_file is not None
    return {"grpc_use_ssl": True, "grpc_use_ssl_mutual": mutual, "grpc_server_cert": tls.cert_file,
            "grpc_server_key": tls.key_file, **({"grpc_root_cert": tls.ca_file} if mutual else {})}


def serve(repository: Path, models: Iterable[str], grpc_port: int, http_port: int, metrics_port: int,
          workspace: Path, threads: int, tls: TlsSettings | None = None) -> None:
    """Run the server in this process until SIGTERM/SIGINT (the child process's entry point)."""
    from pytriton.triton import Triton, TritonConfig

    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # pytriton's serve() loop stops the server cleanly on this

    signal.signal(signal.SIGTERM, on_sigterm)
    config = TritonConfig(grpc_address="127.0.0.1", grpc_port=grpc_port, http_address="127.0.0.1",
                          http_port=http_port, metrics_port=metrics_port, allow_metrics=True,
                          **grpc_tls_config(tls))
    triton = Triton(config=config, workspace=workspace)
    for name in models:
        _bind_onnx_model(triton, repository, name, threads)
    triton.serve()


@dataclass
class EmbeddedTritonServer:
    """Starts `serve` in a child process; `url` is the gRPC endpoint for `TritonBackend`."""

    repository: Path | None = None
    models: tuple[str, ...] = ALL_MODELS
    threads_per_model: int = 1
    workspace: Path | None = None
    log_file: Path | None = None
    tls: TlsSettings | None = None  # gRPC server certificate (+ CA: clients must present one of its)

    def __post_init__(self) -> None:
        self.repository = self.repository or default_model_repository()
        self.models = tuple(m for m in self.models if model_path(self.repository, m).is_file())
        self.grpc_port, self.http_port, self.metrics_port = free_port(), free_port(), free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, timeout_s: float = 180.0) -> None:
        if self.workspace is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="lfr-triton-")
            self.workspace = Path(self._tmp.name) / "workspace"
        env = dict(os.environ)
        libdir = sysconfig.get_config_var("LIBDIR") or ""
        env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (libdir, env.get("LD_LIBRARY_PATH", "")) if p)
        command = [
            sys.executable, "-m", "lfr_inference.adapters.triton_server",
            "--repository", str(self.repository),
            "--grpc-port", str(self.grpc_port), "--http-port", str(self.http_port),
            "--metrics-port", str(self.metrics_port), "--workspace", str(self.workspace),
            "--threads", str(self.threads_per_model), "--models", *self.models,
        ]
        if self.tls is not None:
            flags = {"--grpc-server-cert": self.tls.cert_file, "--grpc-server-key": self.tls.key_file,
                     "--grpc-root-cert": self.tls.ca_file}
            command += [arg for flag, path in flags.items() if path is not None for arg in (flag, str(path))]
        log = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        # Over HTTP (127.0.0.1 only): it answers the same questions whatever the gRPC endpoint's TLS.
        import tritonclient.http as httpclient

        client = httpclient.InferenceServerClient(f"127.0.0.1:{self.http_port}")
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                assert self._process is not None
                if self._process.poll() is not None:
                    raise RuntimeError(f"tritonserver exited with code {self._process.returncode}")
                try:
                    if client.is_server_ready() and all(client.is_model_ready(m) for m in self.models):
                        return
                except Exception:  # not listening yet
                    pass
                time.sleep(0.25)
            raise TimeoutError(f"Triton not ready within {timeout_s} s")
        finally:
            client.close()

    def stop(self, timeout_s: float = 30.0) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)  # its own session: tritonserver and stubs
                self._process.wait()
        self._process = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> EmbeddedTritonServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the face models with pytriton (CPU, onnxruntime)")
    parser.add_argument("--repository", type=Path, default=None)
    parser.add_argument("--models", nargs="+", default=list(ALL_MODELS))
    parser.add_argument("--grpc-port", type=int, default=8001)
    parser.add_argument("--http-port", type=int, default=8000)
    parser.add_argument("--metrics-port", type=int, default=8002)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--grpc-server-cert", type=Path, help="serve gRPC with TLS (with --grpc-server-key)")
    parser.add_argument("--grpc-server-key", type=Path)
    parser.add_argument("--grpc-root-cert", type=Path, help="require client certificates from this CA")
    args = parser.parse_args()
    tls = None
    if args.grpc_server_cert is not None:
        tls = TlsSettings(cert_file=args.grpc_server_cert, key_file=args.grpc_server_key,
                          ca_file=args.grpc_root_cert)
    serve(args.repository or default_model_repository(), args.models, args.grpc_port, args.http_port,
          args.metrics_port, args.workspace, args.threads, tls)


if __name__ == "__main__":
    main()
