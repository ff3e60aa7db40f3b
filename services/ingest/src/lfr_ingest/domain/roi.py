"""The zone of recognition of a camera: a polygon in normalised frame coordinates (0..1, origin top-left).

It travels with every frame (a header) so inference ignores faces whose centre falls outside it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from lfr_platform.errors import DomainRuleViolation

MAX_POINTS = 64


@dataclass(frozen=True, slots=True)
class ZoneOfRecognition:
    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        points = tuple((float(x), float(y)) for x, y in self.points)
        object.__setattr__(self, "points", points)
        if not 3 <= len(points) <= MAX_POINTS:
            raise DomainRuleViolation(
                f"a zone of recognition is a polygon of 3 to {MAX_POINTS} points", code="roi_invalid"
            )
        if any(not (0.0 <= v <= 1.0) for point in points for v in point):
            raise DomainRuleViolation(
                "zone points are fractions of the frame: 0 <= x, y <= 1", code="roi_invalid"
            )
        if abs(self.area()) < 1e-6:
            raise DomainRuleViolation("the zone of recognition has no area", code="roi_invalid")

    def area(self) -> float:
        """Shoelace formula (signed)."""
        total = 0.0
        for (x1, y1), (x2, y2) in zip(self.points, self.points[1:] + self.points[:1], strict=True):
            total += x1 * y2 - x2 * y1
        return total / 2

    def contains(self, x: float, y: float) -> bool:
        """Even-odd rule; what inference applies to a face's centre."""
        inside = False
        n = len(self.points)
        for i in range(n):
            x1, y1 = self.points[i]
            x2, y2 = self.points[(i + 1) % n]
            if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
                inside = not inside
        return inside

    def to_header(self) -> str:
        return json.dumps([[round(x, 6), round(y, 6)] for x, y in self.points], separators=(",", ":"))


WHOLE_FRAME = ZoneOfRecognition(((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)))
