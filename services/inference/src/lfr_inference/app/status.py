"""The pipeline status for operators: per deployment, whether it processes, its gallery size and counts.
Counts and ids only."""

from __future__ import annotations

from typing import Any

from lfr_inference.app.calibrations import Calibrations
from lfr_inference.app.deployments import DeploymentRegistry
from lfr_inference.app.galleries import GalleryRegistry
from lfr_inference.app.recognition import Recognition


class StatusQuery:
    def __init__(
        self,
        deployments: DeploymentRegistry,
        galleries: GalleryRegistry,
        recognition: Recognition,
        calibrations: Calibrations,
        backend: str,
    ) -> None:
        self._deployments = deployments
        self._galleries = galleries
        self._recognition = recognition
        self._calibrations = calibrations
        self._backend = backend

    def status(self) -> dict[str, Any]:
        ids = {s.deployment_id for s in self._deployments.all()} | set(self._recognition.totals)
        rows = []
        for deployment_id in sorted(ids):
            state = self._deployments.get(deployment_id)
            totals = self._recognition.totals.get(deployment_id)
            rows.append({
                "deployment_id": deployment_id,
                "processing": self._deployments.is_live(deployment_id),
                "state": state.last_event if state else "unknown",
                "threshold": state.threshold if state else None,
                "gallery_size": self._galleries.size(deployment_id),
                "gallery_error": self._galleries.failures.get(deployment_id),
                "frames_processed": totals.frames_processed if totals else 0,
                "faces_processed": totals.faces_processed if totals else 0,
                "frames_dropped": totals.frames_dropped if totals else 0,
                "dropped_reasons": dict(totals.dropped_reasons) if totals else {},
                "matches": totals.matches if totals else 0,
            })
        return {
            "backend": self._backend,
            "model_version": self._recognition.config.model_version,
            "calibration": "provisional" if self._calibrations.provisional else "shipped",
            "queued_frames": self._recognition.queued,
            "malformed_frames": self._recognition.malformed,
            "deployments": rows,
        }
