"""Frames in, match events out.

`accept` (the frames consumer's handler) drops frames of deployments that are not live at once (counted)
and queues the rest; `run` takes whatever is queued (up to `max_frame_batch`, never waiting for more:
latency first) and processes it as one batch across cameras: decrypt -> decode -> zone mask -> detect,
gate, align, embed (FacePipeline) -> track -> 1:N search -> calibrated score >= the deployment's
threshold -> at most one FaceMatched per track and watchlist entry, its crop sealed under the
deployment's alert_media key in the blob store.

Everything about a face that matches nobody is dropped in memory as soon as its frame is done (arrays
zeroed, references released); only counts survive, in the per-camera tally.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import cv2
import numpy as np
from aiokafka import ConsumerRecord
from lfr_platform.blobs import BlobStore, blob_key, new_blob_id
from lfr_platform.clock import Clock
from lfr_platform.crypto import DataClass, DataKeyError, DecryptionFailed, open_, seal

from lfr_inference.adapters.frame_wire import BadFrameHeader, FrameHeader, parse_headers
from lfr_inference.app.calibrations import Calibrations
from lfr_inference.app.deployments import DeploymentRegistry
from lfr_inference.app.events_out import EventWriter
from lfr_inference.app.galleries import GalleryRegistry, LiveGallery
from lfr_inference.app.ports import DataKeys
from lfr_inference.arrays import Float32Array, UInt8Array
from lfr_inference.domain.events import SYSTEM_ACTOR, SYSTEM_ROLE, FaceMatched, FacesProcessedTallied, Tally
from lfr_inference.domain.tracking import CameraTracker, Track
from lfr_inference.vision.pipeline import FaceObservation, FacePipeline, FrameFaces

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecognitionConfig:
    model_version: str
    max_frame_batch: int = 8
    frame_queue_size: int = 64
    # Latency first: when processing falls behind a camera, its older frames give way to its newest.
    max_backlog_per_camera: int = 2
    max_frame_age_seconds: float = 5.0
    track_expiry_seconds: float = 2.0
    track_min_iou: float = 0.2
    match_top_k: int = 5
    crop_margin: float = 0.4


@dataclass
class _Queued:
    header: FrameHeader
    ciphertext: bytes


@dataclass
class DeploymentTotals:
    """Since start-up, for the status page (counts only)."""

    frames_processed: int = 0
    faces_processed: int = 0
    frames_dropped: int = 0
    matches: int = 0
    dropped_reasons: dict[str, int] = field(default_factory=dict)


def decode_frame(jpeg: bytes, roi: Sequence[tuple[float, float]] | None) -> UInt8Array | None:
    """JPEG -> RGB, with everything outside the zone of recognition (fractions of the frame) blacked out:
    faces there are never even detected. (Ingest's contract says faces whose centre is outside are
    ignored; masking is stricter, at the cost of a face straddling the border being cut.)"""
    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    # cv2's hints type every image as integer-or-float; a decoded JPEG is uint8.
    rgb = cast(UInt8Array, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    bgr.fill(0)
    if roi is not None and not _whole_frame(roi):
        height, width = rgb.shape[:2]
        polygon = np.asarray(roi, np.float64) * (width, height)
        mask = np.zeros(rgb.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], (255,))
        rgb[mask == 0] = 0
    return rgb


def _whole_frame(roi: Sequence[tuple[float, float]]) -> bool:
    xs, ys = [x for x, _ in roi], [y for _, y in roi]
    return len(roi) == 4 and min(xs) <= 0 and min(ys) <= 0 and max(xs) >= 1 and max(ys) >= 1 and all(
        x in (0.0, 1.0) and y in (0.0, 1.0) for x, y in roi
    )


def crop_jpeg(frame: UInt8Array, box: Float32Array, margin: float) -> bytes:
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    left, top = max(int(x1 - mx), 0), max(int(y1 - my), 0)
    right, bottom = min(int(x2 + mx + 1), w), min(int(y2 + my + 1), h)
    crop = cv2.cvtColor(frame[top:bottom, left:right], cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 92])
    crop.fill(0)
    if not ok:
        raise RuntimeError("crop could not be encoded")
    return encoded.tobytes()


class Recognition:
    def __init__(
        self,
        *,
        config: RecognitionConfig,
        pipeline: FacePipeline,
        deployments: DeploymentRegistry,
        galleries: GalleryRegistry,
        data_keys: DataKeys,
        blobs: BlobStore,
        events: EventWriter,
        calibrations: Calibrations,
        clock: Clock,
    ) -> None:
        self.config = config
        self.pipeline = pipeline
        self.deployments = deployments
        self.galleries = galleries
        self.data_keys = data_keys
        self.blobs = blobs
        self.events = events
        self.calibrations = calibrations
        self.clock = clock
        self._queue: deque[_Queued] = deque()
        self._wakeup = asyncio.Event()
        self._trackers: dict[tuple[str, str], CameraTracker] = {}
        self._tallies: dict[tuple[str, str], Tally] = {}
        self._period_start = clock.now()
        self.totals: dict[str, DeploymentTotals] = {}
        self.malformed = 0
        self.batches = 0

    # Intake ------------------------------------------------------------------------------------------

    def _tally(self, deployment_id: str, camera_id: str) -> Tally:
        return self._tallies.setdefault((deployment_id, camera_id), Tally())

    def _total(self, deployment_id: str) -> DeploymentTotals:
        return self.totals.setdefault(deployment_id, DeploymentTotals())

    def _drop(self, header: FrameHeader, reason: str) -> None:
        self._tally(header.deployment_id, header.camera_id).drop(reason)
        total = self._total(header.deployment_id)
        total.frames_dropped += 1
        total.dropped_reasons[reason] = total.dropped_reasons.get(reason, 0) + 1

    async def accept(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            header = parse_headers(record.headers)
        except BadFrameHeader:
            self.malformed += 1
            return
        reason = self.deployments.not_live_reason(header.deployment_id, self.clock.now())
        if reason is not None or record.value is None:
            self._drop(header, reason or "empty")
            return
        self._make_room(header)
        self._queue.append(_Queued(header, record.value))
        self._wakeup.set()

    def _make_room(self, header: FrameHeader) -> None:
        """A frame that waits behind newer frames of its own camera only adds latency (the newer ones
        show the same people, later): keep the newest few per camera, and a bounded queue overall."""
        same_camera = [
            item for item in self._queue
            if (item.header.camera_id, item.header.deployment_id) == (header.camera_id, header.deployment_id)
        ]
        for item in same_camera[: max(0, len(same_camera) - self.config.max_backlog_per_camera + 1)]:
            self._queue.remove(item)
            self._drop(item.header, "overload")
        if len(self._queue) >= self.config.frame_queue_size:
            self._drop(self._queue.popleft().header, "overload")

    def forget_deployment(self, deployment_id: str) -> None:
        """Halted or ended: queued frames are dropped (counted) and its tracks forgotten."""
        kept: deque[_Queued] = deque()
        for item in self._queue:
            if item.header.deployment_id == deployment_id:
                self._drop(item.header, "not_processing")
            else:
                kept.append(item)
        self._queue = kept
        for slot in [s for s in self._trackers if s[0] == deployment_id]:
            del self._trackers[slot]

    @property
    def queued(self) -> int:
        return len(self._queue)

    # Processing --------------------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch = self._take_batch()
                try:
                    await self.process_batch(batch)
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # never the frame's content: only what went wrong
                    log.error("frame batch failed: %s", type(error).__name__, exc_info=False)
                    for item in batch:
                        self._drop(item.header, "error")

    async def drain(self) -> None:
        """Process everything queued now (tests and shutdown)."""
        while self._queue:
            await self.process_batch(self._take_batch())

    def _take_batch(self) -> list[_Queued]:
        count = min(len(self._queue), self.config.max_frame_batch)
        return [self._queue.popleft() for _ in range(count)]

    async def _open(self, item: _Queued) -> bytes | None:
        header = item.header
        try:
            key = await self.data_keys.get(header.deployment_id, DataClass.FRAMES.value)
            forget = getattr(self.data_keys, "forget", None)
            if key.key_id != header.key_id and forget is not None:  # sealed under a newer key: refetch
                forget(header.deployment_id)
                key = await self.data_keys.get(header.deployment_id, DataClass.FRAMES.value)
            return open_(key.key, item.ciphertext, header.aad)
        except DataKeyError:
            self._drop(header, "key_unavailable")
        except DecryptionFailed:
            self._drop(header, "undecryptable")
        return None

    async def process_batch(self, batch: Sequence[_Queued]) -> None:
        now = self.clock.now()
        opened: list[tuple[FrameHeader, bytes]] = []
        for item in batch:
            header = item.header
            reason = self.deployments.not_live_reason(header.deployment_id, now)
            if reason is None and now.timestamp() - header.captured_at_s > self.config.max_frame_age_seconds:
                reason = "stale"
            if reason is None and self.galleries.get(header.deployment_id) is None:
                reason = "gallery_not_loaded"
            if reason is not None:
                self._drop(header, reason)
                continue
            jpeg = await self._open(item)
            if jpeg is not None:
                opened.append((header, jpeg))
        if not opened:
            return
        headers = [h for h, _ in opened]
        decoded = await asyncio.to_thread(lambda: [decode_frame(jpeg, h.roi) for h, jpeg in opened])
        opened.clear()  # plaintext JPEGs released
        frames: list[tuple[FrameHeader, UInt8Array]] = []
        for header, frame in zip(headers, decoded, strict=True):
            if frame is None:
                self._drop(header, "undecodable")
            else:
                frames.append((header, frame))
        if not frames:
            return
        self.batches += 1
        results = await self.pipeline.process([frame for _, frame in frames])
        try:
            for (header, frame), result in zip(frames, results, strict=True):
                await self._recognise(header, frame, result)
        finally:
            for (_, frame), result in zip(frames, results, strict=True):
                _wipe(frame, result.faces)

    async def _recognise(self, header: FrameHeader, frame: UInt8Array, result: FrameFaces) -> None:
        tally = self._tally(header.deployment_id, header.camera_id)
        total = self._total(header.deployment_id)
        rejected = sum(result.rejected.values())
        tally.frames += 1
        tally.faces_detected += len(result.faces) + rejected
        tally.faces_rejected_quality += rejected
        total.frames_processed += 1
        total.faces_processed += len(result.faces) + rejected
        state = self.deployments.get(header.deployment_id)
        live = self.galleries.get(header.deployment_id)
        if not result.faces or state is None or live is None:
            return
        tracker = self._trackers.get((header.deployment_id, header.camera_id))
        if tracker is None:
            tracker = CameraTracker(self.config.track_expiry_seconds, self.config.track_min_iou)
            self._trackers[(header.deployment_id, header.camera_id)] = tracker
        tracks = tracker.update(header.captured_at_s, [face.detection.box for face in result.faces])
        probes = np.stack([face.embedding for face in result.faces])
        try:
            candidates = live.gallery.search_many(probes, k=self.config.match_top_k)
        finally:
            probes.fill(0.0)
        tally.faces_compared += len(result.faces)
        calibration = self.calibrations.for_kind(live.gallery.score_kind)
        for face, track, face_candidates in zip(result.faces, tracks, candidates, strict=True):
            for entry_id, candidate in live.entries_of(face_candidates):
                score = calibration.calibrated_one(candidate.score)
                if score < state.threshold:
                    break  # candidates are best first and calibration is monotone
                if not tracker.should_alert(track, entry_id, face.quality.score):
                    tally.suppressed += 1
                    continue
                try:
                    emitted = await self._emit(
                        header, frame, face, track, entry_id, score, state.threshold, live
                    )
                except Exception as error:  # blob store or database trouble: the next frame tries again
                    log.error("match not recorded: %s", type(error).__name__)
                    emitted = False
                if emitted:
                    tally.matches += 1
                    total.matches += 1
                else:
                    track.matched_entries.pop(entry_id, None)  # try again with the next frame

    async def _emit(
        self,
        header: FrameHeader,
        frame: UInt8Array,
        face: FaceObservation,
        track: Track,
        entry_id: str,
        score: float,
        threshold: float,
        live: LiveGallery,
    ) -> bool:
        deployment_id = header.deployment_id
        try:
            key = await self.data_keys.get(deployment_id, DataClass.ALERT_MEDIA.value)
        except DataKeyError:
            log.error("match not recorded: alert_media key of %s unavailable", deployment_id)
            return False
        crop_key = blob_key(DataClass.ALERT_MEDIA, deployment_id, new_blob_id())
        jpeg = crop_jpeg(frame, face.detection.box, self.config.crop_margin)
        await self.blobs.put(crop_key, seal(key.key, jpeg, crop_key.encode()))
        del jpeg
        event = FaceMatched(
            stream_id=track.track_id,
            version=track.events_recorded + 1,
            occurred_at=self.clock.now(),
            actor=SYSTEM_ACTOR,
            role=SYSTEM_ROLE,
            deployment_id=deployment_id,
            camera_id=header.camera_id,
            track_id=track.track_id,
            captured_at=datetime.fromtimestamp(header.captured_at_s, UTC),
            score=round(float(score), 6),
            threshold=threshold,
            watchlist_id=live.watchlist_id or None,
            entry_id=entry_id,
            crop_blob_key=crop_key,
            model_version=self.config.model_version,
            quality=round(float(face.quality.score), 4),
        )
        await self.events.append_one(event, "sighting", expected_version=track.events_recorded)
        track.events_recorded += 1
        return True

    # Tallies and status ------------------------------------------------------------------------------

    async def flush_tallies(self) -> int:
        """Record one FacesProcessedTallied per deployment+camera that saw frames this period."""
        now = self.clock.now()
        start, self._period_start = self._period_start, now
        tallies, self._tallies = self._tallies, {}
        for tracker in self._trackers.values():
            tracker.expire(now.timestamp())
        events = [
            FacesProcessedTallied(
                stream_id=f"tally-{deployment_id}-{camera_id}-{int(start.timestamp() * 1000)}",
                version=1,
                occurred_at=now,
                actor=SYSTEM_ACTOR,
                role=SYSTEM_ROLE,
                deployment_id=deployment_id,
                camera_id=camera_id,
                period_start=start,
                period_end=now,
                **tally.counts(),
            )
            for (deployment_id, camera_id), tally in tallies.items()
            if not tally.empty
        ]
        for event in events:
            await self.events.append_one(event, "tally", expected_version=0)
        return len(events)

    async def run_tallies(self, interval_seconds: float) -> None:
        while True:
            await asyncio.sleep(interval_seconds)  # a scheduler's period, not a wait for an event
            try:
                await self.flush_tallies()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.error("tally flush failed: %s", type(error).__name__)


def _wipe(frame: UInt8Array, faces: Sequence[FaceObservation]) -> None:
    """Overwrite the pixels, chips, landmarks and embeddings of a processed frame in place, so nothing
    of them lingers in freed memory."""
    frame.fill(0)
    for face in faces:
        face.chip.fill(0)
        face.embedding.fill(0.0)
        face.detection.landmarks5.fill(0.0)
