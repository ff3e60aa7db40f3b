"""Which calibration turns a comparison score into the calibrated score thresholds are expressed in.

The table ships with the model (deploy/triton/calibration/<model version>*.json, one per score kind).
Without one (a checkout before `lfr eval` produced it), a provisional mapping is used and reported as
such in the status: it puts the default threshold 0.6 at cosine 0.92, well above dlib's own 1:1
operating point (cosine ~0.82, distance 0.6), erring towards fewer alerts.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from lfr_inference.vision.calibration import Calibration, default_calibration_path

log = logging.getLogger(__name__)

PROVISIONAL = Calibration(
    model_version="provisional",
    score_kind="cosine",
    knots_raw=(-1.0, 0.85, 0.92, 0.96, 1.0),
    knots_calibrated=(0.0, 0.4, 0.6, 0.8, 1.0),
    source="provisional (no calibration table shipped)",
)


@dataclass
class Calibrations:
    by_kind: dict[str, Calibration] = field(default_factory=dict)
    provisional: bool = False
    snorm_requested: bool = False

    def for_kind(self, kind: str) -> Calibration:
        return self.by_kind.get(kind) or self.by_kind["cosine"]

    @property
    def normalises(self) -> bool:
        """S-norm only when asked for (the model card found plain cosine better on held-out identities)
        and calibrated."""
        return self.snorm_requested and "snorm" in self.by_kind

    @property
    def flip_average(self) -> bool:
        """Embeddings must be made the way the calibration's were (chip + mirror averaged, or not), for
        live faces and enrolment alike, or the threshold means something else."""
        return bool(self.by_kind["cosine"].flip_average)

    @classmethod
    def single(cls, calibration: Calibration) -> Calibrations:
        return cls({"cosine": calibration})

    @classmethod
    def load(cls, model_version: str, explicit: Path | None = None, snorm: bool = False) -> Calibrations:
        paths: list[Path] = []
        if explicit is not None:
            paths = [explicit]
        else:
            try:
                first = default_calibration_path(model_version)
                paths = sorted(first.parent.glob(f"{model_version}*.json"))
            except FileNotFoundError:
                paths = []
        found: dict[str, Calibration] = {}
        for path in paths:
            calibration = Calibration.from_dict(json.loads(path.read_text(encoding="utf-8")))
            found.setdefault(calibration.score_kind, calibration)
        if "cosine" not in found:
            log.warning("no cosine calibration table for %s: using the provisional mapping", model_version)
            found["cosine"] = PROVISIONAL
            return cls(found, provisional=True, snorm_requested=snorm)
        return cls(found, snorm_requested=snorm)
