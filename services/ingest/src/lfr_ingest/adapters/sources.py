"""Camera sources decoded with PyAV, one thread per camera.

PyAV releases the GIL while demuxing, decoding and scaling, and Pillow while JPEG-encoding, so each
camera's thread runs beside the event loop without blocking it; the thread hands sampled, scaled, JPEG
frames to a drop-oldest buffer and never waits for Kafka. A thread reconnects on its own with
exponential back-off and jitter, and reports connections and failures through `on_status` (called
from the thread: the receiver must hand it to its event loop).
"""

from __future__ import annotations

import io
import ipaddress
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import av
from PIL import Image

from lfr_ingest.adapters.errors import SourceError, classify
from lfr_ingest.adapters.frame_buffer import CapturedFrame, DropOldestBuffer
from lfr_ingest.domain.source_url import SourceKind, check_address

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp"})


@dataclass(frozen=True, slots=True)
class SourceConfig:
    camera_id: str
    url: str = field(repr=False)  # may carry credentials
    kind: SourceKind
    media_root: Path
    fps: float
    max_width: int
    max_height: int
    rtsp_transport: str = "tcp"
    jpeg_quality: int = 80
    open_timeout: float = 10.0
    read_timeout: float = 5.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    loop_files: bool = True  # a file or folder stands in for a camera: play it round and round


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    camera_id: str
    deployment_id: str
    state: str  # "connected" | "failed" | "stopped"
    code: str = ""
    message: str = ""
    width: int = 0
    height: int = 0
    codec: str = ""


@dataclass
class SourceStats:
    """Counters written by the decoder thread, read by health and metrics (ints: GIL-atomic)."""

    decoded: int = 0
    sampled: int = 0
    reconnects: int = 0
    connected: bool = False
    last_frame_at: float = 0.0


def fit_within(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """Scale down (never up) keeping the aspect ratio; even sizes suit every encoder."""
    scale = min(1.0, max_width / width, max_height / height)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


class StreamWorker:
    def __init__(
        self,
        config: SourceConfig,
        deployment_id: str,
        buffer: DropOldestBuffer,
        on_status: Callable[[StatusUpdate], None],
        stats: SourceStats | None = None,
    ) -> None:
        self.config = config
        self.deployment_id = deployment_id
        self._buffer = buffer
        self._on_status = on_status
        self.stats = stats or SourceStats()
        self._stop = threading.Event()
        self._seq = 0
        self._thread = threading.Thread(target=self._run, name=f"ingest-{config.camera_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # The thread ---------------------------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.config.reconnect_min
        while not self._stop.is_set():
            produced_before = self.stats.sampled
            try:
                self._session()
                if self._stop.is_set():
                    break
                if not self.config.loop_files or self.config.kind not in (
                    SourceKind.FILE,
                    SourceKind.IMAGE_SEQUENCE,
                ):
                    raise SourceError("stream_ended", "the source ended the stream")
                continue  # a file played to its end: start it again at once
            except Exception as error:  # every failure becomes a state on this camera, never a crash
                failure = classify(error)
                self._set_disconnected()
                self._report("failed", code=failure.code, message=failure.message)
            if self.stats.sampled > produced_before:
                delay = self.config.reconnect_min  # it worked for a while: start the back-off afresh
            # Full jitter keeps many cameras from reconnecting in lock-step after a network blip.
            self._stop.wait(random.uniform(delay / 2, delay))
            delay = min(delay * 2, self.config.reconnect_max)
            self.stats.reconnects += 1
        self._set_disconnected()
        self._report("stopped")

    def _report(self, state: str, **fields: Any) -> None:
        self._on_status(StatusUpdate(self.config.camera_id, self.deployment_id, state, **fields))

    def _set_disconnected(self) -> None:
        self.stats.connected = False

    def _session(self) -> None:
        frames = (
            self._image_sequence() if self.config.kind is SourceKind.IMAGE_SEQUENCE else self._av_frames()
        )
        period = 1.0 / self.config.fps
        next_due = 0.0
        for image, codec in frames:
            if self._stop.is_set():
                return
            self.stats.decoded += 1
            now = time.monotonic()
            # Half a period of tolerance: a source at exactly the sampling rate jitters around it.
            if now < next_due - period / 2:
                continue
            next_due = max(next_due + period, now)  # keep the cadence, never build a backlog
            if not self.stats.connected:
                self.stats.connected = True
                self._report("connected", width=image.width, height=image.height, codec=codec)
            self._emit(image)

    def _emit(self, image: Image.Image) -> None:
        capture_ns = time.time_ns()
        target = fit_within(image.width, image.height, self.config.max_width, self.config.max_height)
        if target != image.size:
            image = image.resize(target, Image.Resampling.BILINEAR)
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=self.config.jpeg_quality)
        self._seq += 1
        self.stats.sampled += 1
        self.stats.last_frame_at = time.monotonic()
        self._buffer.offer(
            CapturedFrame(
                self.config.camera_id,
                self.deployment_id,
                self._seq,
                capture_ns,
                image.width,
                image.height,
                out.getvalue(),
            )
        )

    # PyAV sources -------------------------------------------------------------------------------------

    def _av_frames(self) -> Iterator[tuple[Image.Image, str]]:
        target, options = self._open_target()
        container = av.open(
            target, options=options, timeout=(self.config.open_timeout, self.config.read_timeout)
        )
        try:
            if not container.streams.video:
                raise SourceError("no_video_stream", "the source has no video stream")
            stream = container.streams.video[0]
            codec = stream.codec_context.name if stream.codec_context else "unknown"
            paced = self.config.kind is SourceKind.FILE
            start_wall: float | None = None
            first_time: float | None = None
            for frame in container.decode(stream):
                if self._stop.is_set():
                    return
                if paced and frame.time is not None:  # play a file at its own speed, like a camera
                    if start_wall is None or first_time is None:
                        start_wall, first_time = time.monotonic(), frame.time
                    wait = start_wall + (frame.time - first_time) - time.monotonic()
                    if wait > 0 and self._stop.wait(wait):
                        return
                width, height = fit_within(
                    frame.width, frame.height, self.config.max_width, self.config.max_height
                )
                now = time.monotonic()
                if self.stats.connected and now < self._next_due_hint(now):
                    self.stats.decoded += 1  # decoded but not sampled: skip the RGB conversion
                    continue
                # PyAV's own stub leaves VideoFrame.to_image unannotated; it returns a PIL image.
                yield frame.to_image(width=width, height=height), codec  # type: ignore[no-untyped-call]
        finally:
            container.close()

    def _next_due_hint(self, now: float) -> float:
        """Cheap pre-check so frames between samples skip the colour conversion (the costly part)."""
        if self.stats.last_frame_at == 0.0:
            return now
        return self.stats.last_frame_at + 0.5 / self.config.fps

    def _open_target(self) -> tuple[str, dict[str, str]]:
        kind = self.config.kind
        if kind is SourceKind.FILE:
            return str(self._local_path(expect_dir=False)), {}
        self._check_host(self.config.url)
        # Frames are sampled by the wall clock, so the stream's frame rate is never used: not probing
        # for it takes ~2 s off every connection (and reconnection) to a live camera.
        live = {"fpsprobesize": "0"}
        if kind is SourceKind.RTSP:
            timeout_us = str(int(self.config.read_timeout * 1_000_000))
            return self.config.url, {
                **live,
                "rtsp_transport": self.config.rtsp_transport,
                "timeout": timeout_us,
            }
        return self.config.url, {**live, "rw_timeout": str(int(self.config.read_timeout * 1_000_000))}

    @staticmethod
    def _check_host(url: str) -> None:
        """Resolve the host now and refuse link-local/metadata addresses (DNS may point anywhere)."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            infos = socket.getaddrinfo(host, parts.port or 0, proto=socket.IPPROTO_TCP)
        except socket.gaierror:
            raise SourceError("unreachable", "the source host name does not resolve") from None
        for info in infos:
            check_address(ipaddress.ip_address(str(info[4][0]).split("%")[0]))

    def _local_path(self, *, expect_dir: bool) -> Path:
        raw = urlsplit(self.config.url).path
        root = self.config.media_root.resolve()
        path = Path(os.path.realpath(raw))  # symlinks resolved: no escape from the media folder
        if path != root and root not in path.parents:
            raise SourceError("source_path_outside_media_root", "the file resolves outside the media folder")
        if not path.exists():
            raise SourceError("not_found", "the source file or folder does not exist")
        if expect_dir and not path.is_dir():
            raise SourceError("not_a_folder", "an image-sequence source must be a folder")
        if not expect_dir:
            if not path.is_file():
                raise SourceError("not_a_file", "a video-file source must be a regular file")
            if path.stat().st_size == 0:
                raise SourceError("empty_file", "the video file is empty (0 bytes)")
        return path

    # Image-sequence folders ---------------------------------------------------------------------------

    def _image_sequence(self) -> Iterator[tuple[Image.Image, str]]:
        folder = self._local_path(expect_dir=True)
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        if not files:
            raise SourceError("empty_folder", "the image-sequence folder holds no JPEG/PNG/BMP images")
        period = 1.0 / self.config.fps
        shown = 0
        for path in files:
            started = time.monotonic()
            try:
                with Image.open(path) as opened:
                    opened.draft("RGB", (self.config.max_width, self.config.max_height))
                    image = opened.convert("RGB")
            except (OSError, Image.DecompressionBombError):
                continue  # one unreadable picture does not stop the sequence
            shown += 1
            yield image, "image"
            if self._stop.wait(max(0.0, period - (time.monotonic() - started))):
                return
        if shown == 0:
            raise SourceError("corrupt_stream", "no image in the folder could be decoded")
