"""Drop-oldest buffer, URL vault, frame AAD, resolution fitting, error classification."""

from __future__ import annotations

import asyncio
import socket

import av
import pytest
from lfr_ingest.adapters.credentials import SourceUrlVault
from lfr_ingest.adapters.errors import SourceError, classify
from lfr_ingest.adapters.frame_buffer import CapturedFrame, DropOldestBuffer
from lfr_ingest.adapters.publisher import frame_aad
from lfr_ingest.adapters.sources import fit_within
from lfr_platform.crypto import DecryptionFailed


def frame(seq: int) -> CapturedFrame:
    return CapturedFrame("cam", "dep", seq, seq * 1000, 2, 2, b"\xff\xd8jpeg")


async def test_buffer_drops_the_oldest_and_counts() -> None:
    buffer = DropOldestBuffer(3, asyncio.get_running_loop())
    for seq in range(1, 8):
        buffer.offer(frame(seq))
    assert buffer.dropped == 4 and len(buffer) == 3
    assert [(await buffer.get()).seq for _ in range(3)] == [5, 6, 7]
    assert "jpeg" not in repr(frame(1))


async def test_buffer_wakes_a_waiting_reader_from_another_thread() -> None:
    loop = asyncio.get_running_loop()
    buffer = DropOldestBuffer(2, loop)
    reader = asyncio.create_task(buffer.get())
    await asyncio.sleep(0)
    await loop.run_in_executor(None, buffer.offer, frame(42))
    assert (await asyncio.wait_for(reader, 5)).seq == 42


def test_vault_binds_the_url_to_its_camera() -> None:
    vault = SourceUrlVault(bytes(range(32)))
    sealed = vault.seal("cam-1", "rtsp://u:p@h/s")
    assert "u:p" not in sealed and vault.open("cam-1", sealed) == "rtsp://u:p@h/s"
    with pytest.raises(DecryptionFailed):
        vault.open("cam-2", sealed)


def test_frame_aad_binds_camera_deployment_and_time() -> None:
    assert frame_aad("c", "d", 5) == b"lfr-frame:v1:c:d:5"
    assert (
        len({frame_aad("c", "d", 5), frame_aad("c", "e", 5), frame_aad("x", "d", 5), frame_aad("c", "d", 6)})
        == 4
    )


def test_fit_within_scales_down_only() -> None:
    assert fit_within(1920, 1080, 1280, 720) == (1280, 720)
    assert fit_within(640, 480, 1280, 720) == (640, 480)
    assert fit_within(1000, 2000, 1280, 720) == (360, 720)


def test_classification_never_quotes_the_url() -> None:
    secret_url = "rtsp://user:topsecret@10.0.0.1/x"
    error = av.error.HTTPUnauthorizedError(825242872, "Server returned 401", secret_url)
    assert "topsecret" in str(error)  # FFmpeg quotes the URL ...
    failure = classify(error)
    assert failure.code == "unauthorized" and "topsecret" not in failure.message  # ... we do not
    assert classify(socket.gaierror(-2, "Name or service not known")).code == "unreachable"
    assert classify(ConnectionRefusedError()).code == "unreachable"
    assert classify(SourceError("empty_file", "empty")).code == "empty_file"
    assert classify(RuntimeError("boom " + secret_url)).message == "the source failed (RuntimeError)"
