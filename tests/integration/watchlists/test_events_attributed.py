"""Every state-changing operation in the OpenAPI document emits an event naming the person and role who
asked; and no event or log line carries image bytes or template values."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

import numpy as np
import pytest

from tests.integration.watchlists._env import API, WatchlistsEnv

Scenario = Callable[[WatchlistsEnv, dict[str, bytes]], Awaitable[tuple[str, str]]]


async def _create(env: WatchlistsEnv, faces: dict[str, bytes]) -> tuple[str, str]:
    await env.create(watchlist_id="wl-new")
    return "wl-new", "WatchlistCreated"


async def _add(env: WatchlistsEnv, faces: dict[str, bytes]) -> tuple[str, str]:
    assert (await env.add("wl-1", [faces["biden"]], entry_id="e-2")).status_code == 201
    return "wl-1", "WatchlistEntryAdded"


async def _remove(env: WatchlistsEnv, faces: dict[str, bytes]) -> tuple[str, str]:
    async with env.client("watchlist_manager", user="dc-smith") as client:
        response = await client.delete(f"{API}/wl-1/entries/e-1", params={"reason": "arrested"})
    assert response.status_code == 200, response.text
    return "wl-1", "WatchlistEntryRemoved"


async def _delete(env: WatchlistsEnv, faces: dict[str, bytes]) -> tuple[str, str]:
    async with env.client("watchlist_manager", user="dc-smith") as client:
        response = await client.delete(f"{API}/wl-1", params={"reason": "retention: deployment ended"})
    assert response.status_code == 200, response.text
    return "wl-1", "WatchlistPurged"


SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("POST", API): _create,
    ("POST", f"{API}/{{watchlist_id}}/entries"): _add,
    ("DELETE", f"{API}/{{watchlist_id}}/entries/{{entry_id}}"): _remove,
    ("DELETE", f"{API}/{{watchlist_id}}"): _delete,
}


def _state_changing(env: WatchlistsEnv) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in env.app.openapi()["paths"].items()
            for method in item if method.upper() in {"POST", "PUT", "PATCH", "DELETE"}}


async def test_scenarios_cover_every_state_changing_operation(env: WatchlistsEnv) -> None:
    assert _state_changing(env) == set(SCENARIOS)


@pytest.mark.parametrize("operation", list(SCENARIOS), ids=[" ".join(o) for o in SCENARIOS])
async def test_each_operation_emits_an_attributed_event(env: WatchlistsEnv, faces, operation) -> None:
    await env.create()
    assert (await env.add("wl-1", [faces["obama"]], entry_id="e-1")).status_code == 201
    before = len(await env.events())
    # env.create/add sign in as "<role>-1"; the removal scenarios sign in as dc-smith
    stream, event_type = await SCENARIOS[operation](env, faces)
    new = (await env.events())[before:]
    assert [e.event_type for e in new] == [event_type]
    assert new[0].stream_id == stream
    assert new[0].metadata.actor in ("watchlist_manager-1", "dc-smith")
    assert new[0].metadata.role == "watchlist_manager"
    assert new[0].metadata.correlation_id


async def test_no_image_bytes_or_templates_in_events_or_logs(env: WatchlistsEnv, faces, caplog, capsys
                                                             ) -> None:
    caplog.set_level(logging.DEBUG)
    await env.create()
    assert (await env.add("wl-1", [faces["obama"], faces["obama2"]], entry_id="e-1",
                          image_taken_on="2025-01-01,2025-02-01")).status_code == 201
    from tests.integration.watchlists._env import authorised

    await env.deliver(authorised("dep-1", "wl-1", 1))
    gallery = await env.gallery("dep-1")
    templates = [np.asarray(e.template, dtype=np.float32) for e in gallery.entries]
    assert len(templates) == 2

    events = json.dumps([{"data": e.data, "metadata": e.metadata.as_dict()} for e in await env.events()],
                        default=str)
    logs = capsys.readouterr().out + capsys.readouterr().err + caplog.text
    for text in (events, logs):
        assert "\xff\xd8" not in text and "/9j/" not in text  # no JPEG, raw or base64
        for template in templates:
            # any run of three template values, however printed, would betray a template
            for values in (template[:3], template[60:63]):
                assert not all(f"{v:.4f}"[:6] in text for v in values)
    assert len(events) < 8_000  # blob ids and facts only: a template alone would be ~2.5 kB of floats
    added = next(e for e in await env.events() if e.event_type == "WatchlistEntryAdded")
    assert {k for image in added.data["images"] for k in image} == {"image_blob_id", "template_blob_id",
                                                                    "taken_on"}
