"""Real media files for camera sources, generated with PyAV (no downloads)."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def write_video(
    path: Path,
    *,
    width: int = 320,
    height: int = 240,
    fps: int = 10,
    seconds: float = 2.0,
    codec: str = "mpeg4",
) -> Path:
    """A moving gradient: every frame differs, so encoders cannot collapse it to nothing."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
        ramp = np.linspace(0, 255, width, dtype=np.uint8)
        for i in range(int(fps * seconds)):
            rgb = np.empty((height, width, 3), dtype=np.uint8)
            rgb[..., 0] = np.roll(ramp, i * 4)[None, :]
            rgb[..., 1] = (i * 9) % 256
            rgb[..., 2] = ramp[::-1][None, :]
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_unsupported_codec(path: Path) -> Path:
    """An AVI whose video FourCC names no codec FFmpeg knows."""
    write_video(path.with_suffix(".tmp.avi"))
    data = path.with_suffix(".tmp.avi").read_bytes()
    path.with_suffix(".tmp.avi").unlink()
    assert b"FMP4" in data
    path.write_bytes(data.replace(b"FMP4", b"QZQZ").replace(b"mp4v", b"qzqz"))
    return path


def write_corrupt(path: Path, size: int = 64_000) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def write_image_sequence(folder: Path, count: int = 5, size: tuple[int, int] = (640, 480)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("RGB", size, (i * 40 % 256, 90, 160)).save(folder / f"frame-{i:04d}.jpg", quality=85)
    return folder
