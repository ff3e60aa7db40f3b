"""Face crops go to Triton over gRPC mutual TLS: a real tritonserver (pytriton, CPU) serving with
--grpc-use-ssl-mutual, as the Kubernetes Triton does, and the inference service's Triton backend built
by its composition root from production settings (its own LFR_GRPC_TLS__* certificate, the peers' CA).

A client without TLS, without a client certificate, or trusting another CA gets nothing from it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from lfr_inference.adapters.triton_client import TritonBackend
from lfr_inference.bootstrap import build_backend
from lfr_inference.settings import InferenceSettings
from lfr_inference.vision.backends import EMBEDDER, OnnxRuntimeBackend
from lfr_inference.vision.embedder import INPUT_NAME, OUTPUT_EMBEDDING
from lfr_platform.grpc_security import channel_credentials
from lfr_platform.settings import ServiceSettings, TlsSettings
from tritonclient.utils import InferenceServerException

from tests.fixtures.pki import Pki

pytestmark = pytest.mark.triton

OIDC = {"mode": "oidc", "jwks_url": "https://idp.example.invalid/jwks"}


def production_settings(url: str, tls: TlsSettings) -> InferenceSettings:
    return InferenceSettings(
        environment="production", auth=OIDC, grpc_tls=tls, inference_backend="triton", triton_url=url
    )


async def test_the_service_backend_reaches_triton_over_mutual_tls(triton_tls_server):
    server, pki = triton_tls_server
    cert, key = pki.issue("inference", server=False)
    backend = build_backend(
        production_settings(server.url, TlsSettings(cert_file=cert, key_file=key, ca_file=pki.ca_file))
    )
    assert isinstance(backend, TritonBackend)
    try:
        assert await backend.is_ready([EMBEDDER])
        chips = np.random.default_rng(5).integers(0, 256, size=(3, 150, 150, 3), dtype=np.uint8)
        remote = (await backend.infer(EMBEDDER, {INPUT_NAME: chips}, [OUTPUT_EMBEDDING]))[OUTPUT_EMBEDDING]
        here = OnnxRuntimeBackend(models=[EMBEDDER]).run(EMBEDDER, {INPUT_NAME: chips}, [OUTPUT_EMBEDDING])
        assert np.min(np.sum(remote * here[OUTPUT_EMBEDDING], axis=1)) > 0.9999
    finally:
        await backend.close()


async def test_triton_answers_no_client_without_a_certificate_from_the_ca(triton_tls_server, tmp_path: Path):
    server, pki = triton_tls_server
    rogue = Pki(tmp_path, "rogue-ca")
    rogue_cert, rogue_key = rogue.issue("rogue", server=False)

    def over(**tls: Path) -> TritonBackend:
        settings = ServiceSettings(grpc_tls=TlsSettings(**tls))
        return TritonBackend(server.url, credentials=channel_credentials(server.url, settings))

    refused = {
        # The embedded default (development, loopback, no TLS settings) stays plaintext, which a TLS
        # server does not speak.
        "plaintext": build_backend(InferenceSettings(inference_backend="triton", triton_url=server.url)),
        "no client certificate": over(ca_file=pki.ca_file),
        "client certificate from another CA": over(
            cert_file=rogue_cert, key_file=rogue_key, ca_file=pki.ca_file
        ),
        "server not trusted (another CA)": over(
            cert_file=rogue_cert, key_file=rogue_key, ca_file=rogue.ca_file
        ),
    }
    chips = np.zeros((1, 150, 150, 3), np.uint8)
    for what, backend in refused.items():
        try:
            assert not await backend.is_ready([EMBEDDER]), what
            with pytest.raises(InferenceServerException):
                await backend.infer(EMBEDDER, {INPUT_NAME: chips}, [OUTPUT_EMBEDDING])
        finally:
            await backend.close()
