"""Galleries follow the deployment: loaded on DeploymentStarted/Resumed, zeroed and released on
DeploymentHalted/Ended (tracks and queued frames forgotten too). Fake: the watchlists service's Gallery
port (a peer service); the event store is the platform's in-memory twin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from lfr_inference.app.deployments import DeploymentEventsHandler, DeploymentRegistry
from lfr_inference.app.galleries import GalleryRegistry
from lfr_inference.app.ports import GallerySnapshot, GalleryTemplate
from lfr_platform.clock import ManualClock
from lfr_platform.eventstore import InMemoryEventDatabase
from lfr_platform.messaging import EventMessage

from tests.fixtures.events import event_message

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class FakeGallerySource:
    def __init__(self) -> None:
        self.fetches = 0

    async def fetch(self, deployment_id: str) -> GallerySnapshot:
        self.fetches += 1
        rng = np.random.default_rng(self.fetches)
        templates = [
            GalleryTemplate(f"entry-{i // 2}", rng.normal(size=128).astype(np.float32)) for i in range(6)
        ]
        return GallerySnapshot("wl-1", 3, True, "m1", templates)


def message(event_type: str, data: dict, version: int) -> EventMessage:
    return event_message(
        "deployment", "dep-1", event_type, data, actor="s", role="silver_commander", version=version, at=NOW
    )


@pytest.fixture
def world():
    clock = ManualClock(NOW)
    source = FakeGallerySource()
    registry = DeploymentRegistry(clock)
    galleries = GalleryRegistry(source, "m1")
    stopped: list[str] = []
    handler = DeploymentEventsHandler(registry, galleries, stopped.append)
    return registry, galleries, handler, source, stopped


async def handle(handler, event_type, data, version):
    db = InMemoryEventDatabase()
    async with db.unit_of_work() as uow:
        await handler(uow, message(event_type, data, version))
        await uow.commit()


async def test_start_loads_halt_zeroes_resume_reloads(world):
    registry, galleries, handler, source, stopped = world
    window = {"start": (NOW - timedelta(hours=1)).isoformat(), "end": (NOW + timedelta(hours=1)).isoformat()}
    await handle(handler, "DeploymentDrafted", {"form": {"window": window, "threshold": {"value": 0.6}}}, 1)
    assert galleries.get("dep-1") is None and source.fetches == 0
    await handle(handler, "DeploymentStarted", {}, 2)
    await galleries.wait_loaded("dep-1")
    live = galleries.get("dep-1")
    assert live is not None and len(live) == 6 and registry.is_live("dep-1")
    assert {entry for entry, _ in live.entries_of(live.gallery.search(live.gallery.matrix[0], k=6))} == {
        "entry-0",
        "entry-1",
        "entry-2",
    }
    matrix = live.gallery._matrix  # the very buffer the templates lived in
    await handle(handler, "DeploymentHalted", {"reason": "disorder"}, 3)
    assert galleries.get("dep-1") is None and not registry.is_live("dep-1") and stopped == ["dep-1"]
    assert not matrix.any(), "templates must be zeroed on halt, not just dereferenced"
    await handle(handler, "DeploymentResumed", {"reason": "calm"}, 4)
    await galleries.wait_loaded("dep-1")
    assert galleries.size("dep-1") == 6 and source.fetches == 2
    await handle(handler, "DeploymentEnded", {"end_reason": "ended_by_silver"}, 5)
    assert galleries.get("dep-1") is None and stopped == ["dep-1", "dep-1"]


async def test_a_gallery_enrolled_with_another_model_is_refused(world):
    _, _, _, source, _ = world
    galleries = GalleryRegistry(source, "another-model")
    with pytest.raises(ValueError, match="enrolled with m1"):
        await galleries.load("dep-1")
    assert galleries.get("dep-1") is None


async def test_a_destroyed_data_key_is_forgotten_at_once(world):
    registry, galleries, _, _, _ = world
    forgotten: list[str] = []
    handler = DeploymentEventsHandler(registry, galleries, on_key_destroyed=forgotten.append)
    await handle(handler, "DataKeyDestroyed", {"data_class": "alert_media", "key_id": "k"}, 1)
    assert forgotten == ["dep-1"] and registry.get("dep-1") is None
