"""Oversight REST on a real uvicorn server with real JWTs: roles, queries with keyset paging (SQLite and
PostgreSQL), the live SSE stream, export -> `lfr audit verify`, server-side verification and proofs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from lfr_audit.domain.merkle import verify_consistency, verify_inclusion
from lfr_audit.verify_cli import audit_app
from typer.testing import CliRunner

from tests.unit.audit.report_history import DEPLOYMENT, History, deployment_history

from ._api import Api, running_api

PREFIX = "/api/v1/audit"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}") as running:
        await running.parts.recorder.offer(deployment_history().entries)
        yield running


ROLE_CASES = [
    ("operator", "GET", "/entries", 403),
    ("oversight", "GET", "/entries", 200),
    (None, "GET", "/entries", 401),
    ("admin", "GET", "/entries", 200),
    ("engagement_officer", "GET", "/stream", 403),
    ("admin", "GET", "/export", 403),  # audit.export is oversight's alone
    ("oversight", "GET", "/verify", 200),
    ("authorising_officer", "GET", "/verify", 403),
    ("silver_commander", "GET", f"/reports/{DEPLOYMENT}", 200),
    ("operator", "GET", f"/reports/{DEPLOYMENT}", 403),
    (None, "GET", f"/reports/{DEPLOYMENT}/public", 200),  # the transparency version is public
    ("oversight", "GET", "/reports/no-such-deployment", 404),
]


async def test_roles(api: Api) -> None:
    """One server for the whole table: who gets what from each kind of route."""
    for role, method, path, status in ROLE_CASES:
        async with api.client(role) as client:
            response = await client.request(method, PREFIX + path)
        assert response.status_code == status, (role, path, response.text)
        if status >= 400:
            assert "error" in response.json()


async def test_query_filters_and_keyset_paging(tmp_path: Path, ledger_url: str) -> None:
    async with running_api(tmp_path, ledger_url) as api:
        history = deployment_history()
        await api.parts.recorder.offer(history.entries)
        async with api.client("oversight") as client:

            async def query(**params: object) -> list[dict[str, object]]:
                collected: list[dict[str, object]] = []
                after = None
                while True:
                    response = await client.get(f"{PREFIX}/entries", params={**params, "limit": 4} |
                                                ({"after": after} if after is not None else {}))  # fmt: skip
                    assert response.status_code == 200, response.text
                    body = response.json()
                    collected += body["entries"]
                    if body["next_after"] is None:
                        return collected
                    after = body["next_after"]

            everything = await query()
            assert [row["sequence"] for row in everything] == list(range(len(history.entries)))
            silver = await query(role="silver_commander")
            assert len(silver) == 7 and {r["entry"]["metadata"]["actor"] for r in silver} == {"supt-silver"}
            halts = await query(event_type="DeploymentHalted")
            assert [r["entry"]["data"]["reason"] for r in halts] == ["crowd surge"]
            by_actor = await query(actor="wlm-1")
            assert len(by_actor) == 4
            window = await query(since="2026-11-20T08:00:00Z", until="2026-11-20T09:00:00Z")
            assert window and all("2026-11-20T08" in r["entry"]["occurred_at"] for r in window)
            deployment = await query(deployment_id=DEPLOYMENT, source_service="alerts")
            named = {
                "AlertRaised",
                "AlertSuppressed",
                "AlertDismissed",
                "AlertEngaged",
                "EngagementOutcomeRecorded",
            }
            # not AlertNotReviewed: this history's one does not repeat the deployment id
            assert {r["entry"]["event_type"] for r in deployment} == named


async def test_live_stream_sends_new_entries_and_heartbeats(api: Api) -> None:
    extra = History()
    extra._positions["retention"] = 2  # the history's retention service already recorded positions 1-2
    new = extra.add("retention", "hold", "hold-9", "HoldPlaced", 900, {"deployment_id": DEPLOYMENT})
    async with api.client("oversight") as client:
        async with client.stream("GET", f"{PREFIX}/stream", params={"deployment_id": DEPLOYMENT}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            seen: list[str] = []
            appended = False
            async with asyncio.timeout(30):  # bounds a hang only
                async for line in lines:
                    seen.append(line)
                    if line == ": heartbeat" and not appended:
                        await api.parts.recorder.offer([new])  # appended while the client listens
                        appended = True
                    if line.startswith("data: ") and appended:
                        break
    data = json.loads(seen[-1].removeprefix("data: "))
    assert data["entry"]["event_id"] == new.event_id
    assert seen[-3] == f"id: {data['sequence']}" and seen[-2] == "event: entry"


async def test_export_passes_lfr_audit_verify_and_the_verify_endpoint(api: Api) -> None:
    token = api.token("oversight")
    result = await asyncio.to_thread(
        CliRunner().invoke, audit_app, ["verify", "--url", api.base_url, "--token", token, "--json"]
    )
    assert result.exit_code == 0, result.output
    cli = json.loads(result.output)
    assert cli["ok"] is True and cli["entries"] == api.parts.ledger.size
    async with api.client("oversight") as client:
        served = (await client.get(f"{PREFIX}/verify")).json()
        export = await client.get(f"{PREFIX}/export")
        key = (await client.get(f"{PREFIX}/public-key")).text
    assert served["ok"] is True and served["entries"] == cli["entries"]
    assert set(served) == set(cli)
    assert export.headers["x-lfr-tree-size"] == str(api.parts.ledger.size)
    assert len(export.content.splitlines()) == api.parts.ledger.size
    assert (
        json.loads(export.headers["x-lfr-tree-head"])["tree_heads"][0]["tree_size"] == api.parts.ledger.size
    )
    assert key == api.parts.oversight.signer.public_key_pem()


async def test_inclusion_and_consistency_proofs_verify(api: Api) -> None:
    async with api.client("oversight") as client:
        proof = (await client.get(f"{PREFIX}/entries/5/inclusion-proof")).json()
        size = proof["tree_size"]
        consistency = (
            await client.get(f"{PREFIX}/consistency-proof", params={"first": 7, "second": size})
        ).json()
        bad = await client.get(f"{PREFIX}/consistency-proof", params={"first": size + 5})
    assert proof["tree_head"]["tree_size"] == size  # a signed head covers the proof
    path = [bytes.fromhex(p) for p in proof["proof"]]
    leaf, root = bytes.fromhex(proof["leaf_hash"]), bytes.fromhex(proof["root_hash"])
    assert verify_inclusion(5, size, leaf, path, root)
    assert proof["root_hash"] == proof["tree_head"]["root_hash"]
    assert verify_consistency(7, size, bytes.fromhex(consistency["first_root"]),
                              bytes.fromhex(consistency["second_root"]),
                              [bytes.fromhex(p) for p in consistency["proof"]])  # fmt: skip
    assert bad.status_code == 422
