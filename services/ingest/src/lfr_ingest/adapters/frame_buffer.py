"""A bounded, thread-safe hand-off from a decoder thread to the asyncio publisher that drops the OLDEST
frame when full: the decoder never blocks, memory stays flat, and what is published is the most recent
view of the scene. Frames are biometric: they are never logged and never touch disk."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, repr=False)
class CapturedFrame:
    camera_id: str
    deployment_id: str
    seq: int
    capture_ns: int  # UTC wall clock, nanoseconds since the epoch
    width: int
    height: int
    jpeg: bytes = field(repr=False)

    def __repr__(self) -> str:  # no pixels in any log line
        return f"CapturedFrame({self.camera_id}, seq={self.seq}, {self.width}x{self.height})"


class DropOldestBuffer:
    def __init__(self, capacity: int, loop: asyncio.AbstractEventLoop) -> None:
        if capacity < 1:
            raise ValueError("capacity >= 1")
        self._frames: deque[CapturedFrame] = deque()
        self._capacity = capacity
        self._lock = threading.Lock()
        self._loop = loop
        self._ready = asyncio.Event()
        self.dropped = 0
        self.offered = 0

    def offer(self, frame: CapturedFrame) -> None:
        """From any thread; never blocks on the consumer."""
        with self._lock:
            if len(self._frames) >= self._capacity:
                self._frames.popleft()
                self.dropped += 1
            self._frames.append(frame)
            self.offered += 1
        try:
            self._loop.call_soon_threadsafe(self._ready.set)
        except RuntimeError:  # loop closed while shutting down
            pass

    def _take(self) -> CapturedFrame | None:
        with self._lock:
            return self._frames.popleft() if self._frames else None

    async def get(self) -> CapturedFrame:
        """Oldest remaining frame; waits (in the event loop) while empty."""
        while True:
            frame = self._take()
            if frame is not None:
                return frame
            self._ready.clear()
            # A frame offered after _take() schedules _ready.set() after this clear(): no lost wake-up.
            await self._ready.wait()

    def clear(self) -> int:
        with self._lock:
            count = len(self._frames)
            self._frames.clear()
            return count

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)
