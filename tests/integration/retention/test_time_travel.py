"""Issue 8's bars: time travel with an injected clock over real stores, real blobs, a real gRPC DataKeys
server, `lfr retention scan`/`run` and `lfr audit verify` on an export of the ledger."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from lfr_audit.domain.biometric_guard import find_biometric_content
from lfr_audit.domain.export import encode_tree_heads
from lfr_audit.domain.tree_head import TreeHeadSigner
from lfr_audit.verify_cli import audit_app
from lfr_platform.auth import Principal, Role
from lfr_platform.crypto import DataClass, KeyDestroyed
from lfr_platform.errors import DomainRuleViolation
from lfr_retention.app.holds import PlaceHold, ReleaseHold
from lfr_retention.cli import retention_app
from typer.testing import CliRunner

from tests.integration.retention._env import RetentionEnv, at_iso, retention_env
from tests.unit.deployments.conftest import DEPLOYMENT

runner = CliRunner()
AO = Principal(subject="supt-ao", role=Role.AUTHORISING_OFFICER, name="Supt AO")


@pytest.fixture
async def env(tmp_path: Path, face_images_dir: Path) -> AsyncIterator[RetentionEnv]:
    jpegs = [p.read_bytes() for p in sorted(face_images_dir.glob("*.jpg"))[:3]]  # noqa: ASYNC240 (setup)
    assert jpegs and all(j.startswith(b"\xff\xd8\xff") for j in jpegs)
    async with retention_env(tmp_path, jpegs) as environment:
        yield environment


async def cli(app: object, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    # The commands call asyncio.run, so they run on a thread of their own, as from a shell.
    result = await asyncio.to_thread(runner.invoke, app, list(args), env=env)  # type: ignore[arg-type]
    return result.exit_code, result.stdout


async def scan(env: RetentionEnv) -> tuple[int, dict[str, object]]:
    code, output = await cli(retention_app, "scan", "--data-dir", str(env.data_dir), "--at",
                             at_iso(env.clock.now()), "--json")  # fmt: skip
    return code, json.loads(output)


async def receipts(env: RetentionEnv) -> list[dict[str, object]]:
    return await env.retention.facts.receipts()


async def test_end_plus_32_days_leaves_no_biometric_artefact_and_the_ledger_verifies(
    env: RetentionEnv,
) -> None:
    await env.run_deployment()
    watchlist_keys = await env.create_watchlist(entries=2)
    crops = [await env.match(f"trk-{i}") for i in range(3)]
    env.clock.advance(timedelta(hours=2))
    await env.end_deployment()
    ended_at = env.clock.now()
    await env.sync_retention()

    # At the end: the frames key is shredded; crops and watchlist media still live.
    first = await env.retention.enforcer.run()
    assert [r["receipt_id"] for r in first.issued] == [f"key:{DEPLOYMENT}:frames"]
    with pytest.raises(KeyDestroyed):
        await env.ring.data_key(DEPLOYMENT, DataClass.FRAMES)
    assert all([await env.blob_readable(k) for k in watchlist_keys + [key for _, key in crops]])

    # End + 25 h: watchlist images, templates and personal details deleted, their key shredded.
    env.clock.set(ended_at + timedelta(hours=25))
    second = await env.retention.enforcer.run()
    assert sorted(r["receipt_id"] for r in second.issued) == [
        f"key:{DEPLOYMENT}:watchlist_media",
        f"watchlist-media:{DEPLOYMENT}",
    ]
    purge = next(r for r in second.issued if r["action"] == "purge_watchlist_media")
    assert purge["blobs_deleted"] == len(watchlist_keys) == 6  # 2 entries: image, template, details
    assert not any([await env.blob_readable(k) for k in watchlist_keys])

    # End + 32 days, before enforcement: the scan finds the three crops and fails.
    env.clock.set(ended_at + timedelta(days=32))
    code, report = await scan(env)
    assert code == 1
    assert sorted(a["location"] for a in report["artefacts"]) == sorted(key for _, key in crops)  # type: ignore[index]

    # `lfr retention run` deletes them and shreds the alert_media key through DestroyDataKey.
    targets = json.dumps({"deployments": env.keys_target})
    code, output = await cli(
        retention_app, "run", "--data-dir", str(env.data_dir), "--at", at_iso(env.clock.now()), "--json",
        env={"LFR_GRPC_TARGETS": targets},
    )  # fmt: skip
    assert code == 0, output
    issued = json.loads(output)["issued"]
    assert sorted(r["receipt_id"] for r in issued) == sorted(
        [f"crop:{key}" for _, key in crops] + [f"key:{DEPLOYMENT}:alert_media"]
    )
    assert not any([await env.blob_readable(key) for _, key in crops])
    with pytest.raises(KeyDestroyed):
        await env.ring.data_key(DEPLOYMENT, DataClass.ALERT_MEDIA)

    code, report = await scan(env)
    assert code == 0, report
    assert report["ok"] is True and report["artefacts"] == []
    checked = report["checked"]
    assert checked["databases"] >= 5 and checked["rows"] > 0  # type: ignore[index]

    # Idempotent: another run (and a redelivery of every event) deletes nothing and issues nothing.
    await env.sync_retention()
    again = await env.retention.enforcer.run()
    assert (again.due, again.issued) == (0, [])
    all_receipts = await receipts(env)
    assert len(all_receipts) == 3 + 3 + 1
    assert len({r["receipt_id"] for r in all_receipts}) == len(all_receipts)

    # The audit ledger holds every receipt (which its biometric guard accepts) and an export still verifies.
    for stored in await env.retention.kit.db.reader().read_all(0):
        assert find_biometric_content(dict(stored.data)) is None, stored.event_type
    await env.sync_ledger()
    export = env.data_dir / "ledger.jsonl"
    with export.open("wb") as out:
        async for line in env.ledger.export_lines():
            out.write(line)
    lines = export.read_bytes().splitlines()
    in_ledger = [line for line in lines if b"DeletionReceiptIssued" in line]
    assert len(in_ledger) == len(all_receipts)
    signer = TreeHeadSigner(Ed25519PrivateKey.generate())
    head = await env.ledger.sign_tree_head(signer, env.clock.now())
    (env.data_dir / "sth.json").write_bytes(encode_tree_heads([head]))
    (env.data_dir / "audit.pub").write_text(signer.public_key_pem())
    code, output = await cli(
        audit_app, "verify", "--export", str(export), "--tree-head", str(env.data_dir / "sth.json"),
        "--public-key", str(env.data_dir / "audit.pub"),
    )  # fmt: skip
    assert code == 0, output
    assert output.startswith(f"OK: {len(lines)} entries")


async def test_a_hold_keeps_an_alert_past_31_days_until_released(env: RetentionEnv) -> None:
    await env.run_deployment()
    held_alert, held_crop = await env.match("trk-held")
    _, other_crop = await env.match("trk-other")
    await env.end_deployment()
    await env.sync_retention()
    start = env.clock.now()

    hold = await env.retention.holds.place(
        PlaceHold(
            held_alert, "linked to a prosecution for robbery", "CPS-2026-0042", start + timedelta(days=90)
        ),
        AO,
    )
    env.clock.set(start + timedelta(days=40))
    report = await env.retention.enforcer.run()
    assert f"crop:{other_crop}" in {r["receipt_id"] for r in report.issued}
    assert not await env.blob_readable(other_crop)
    assert await env.blob_readable(held_crop)  # held: kept, and so is the alert_media key
    assert f"key:{DEPLOYMENT}:alert_media" not in {r["receipt_id"] for r in report.issued}
    code, scanned = await scan(env)
    assert code == 0, scanned

    await env.retention.holds.release(ReleaseHold(str(hold["hold_id"]), "case concluded"), AO)
    with pytest.raises(DomainRuleViolation):
        await env.retention.holds.release(ReleaseHold(str(hold["hold_id"]), "again"), AO)
    report = await env.retention.enforcer.run()
    assert {r["receipt_id"] for r in report.issued} == {f"crop:{held_crop}", f"key:{DEPLOYMENT}:alert_media"}
    assert not await env.blob_readable(held_crop)
    code, _ = await scan(env)
    assert code == 0

    await env.sync_ledger()
    types = [line for line in [ln async for ln in env.ledger.export_lines()] if b"Hold" in line]
    assert len(types) == 2  # HoldPlaced and HoldReleased reached the ledger


async def test_a_missing_policy_file_is_a_clear_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-policy.yaml"
    for command in ("scan", "run"):
        result = await asyncio.to_thread(
            runner.invoke, retention_app, [command, "--data-dir", str(tmp_path), "--policy", str(missing)]
        )
        assert result.exit_code == 2, (command, result.output)
        assert "LFR_RETENTION_POLICY_FILE: no retention policy at" in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
