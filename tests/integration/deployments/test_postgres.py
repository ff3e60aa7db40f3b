"""A subset of the deployments REST, projection, data-key and expiry tests on PostgreSQL (the same tests
as on SQLite, run against a fresh `lfr_test_*` database)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc
import pytest
from lfr_deployments.entrypoints.grpc.data_keys import data_keys_registrar
from lfr_proto.lfr.keys.v1 import keys_pb2_grpc

from tests.fixtures.grpc_peers import serve_grpc
from tests.integration.deployments import test_data_keys_and_expiry as keys_tests
from tests.integration.deployments import test_rest_api as api_tests
from tests.integration.deployments import test_rest_rules as rules_tests
from tests.integration.deployments._harness import RestWorld, rest_world

pytestmark = pytest.mark.postgres

SUBSET_CASES = {
    "authorise own submission (two roles)", "under-13 entry, none declared",
    "start after the watchlist moved on", "draft the same id twice",
}  # fmt: skip
SUBSET = [case for case in rules_tests.REST_CASES if case[1] in SUBSET_CASES]


@pytest.fixture
async def world(tmp_path: Path, new_postgres_database: Callable[[], str]) -> AsyncIterator[RestWorld]:
    async with rest_world(tmp_path, database_url=new_postgres_database()) as w:
        yield w


@pytest.mark.parametrize(("code", "case", "arrange"), SUBSET, ids=[f"{c}:{n}" for c, n, _ in SUBSET])
async def test_rules_on_postgresql(
    world: RestWorld, code: str, case: str, arrange: rules_tests.Arrange
) -> None:
    await rules_tests.test_rule_refuses_over_rest_with_its_code(world, code, case, arrange)


async def test_attribution_on_postgresql(world: RestWorld) -> None:
    await api_tests.test_every_state_changing_operation_records_actor_role_and_correlation(world)


async def test_expected_rate_and_projection_on_postgresql(world: RestWorld) -> None:
    await api_tests.test_expected_false_alert_rate_from_the_calibration_table(world)


async def test_window_expiry_on_postgresql(world: RestWorld) -> None:
    await keys_tests.test_window_expiry_ends_running_deployments_as_the_system(world)


async def test_data_keys_on_postgresql(world: RestWorld) -> None:
    server = await serve_grpc(data_keys_registrar(world.parts.keys))
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            stub = keys_pb2_grpc.DataKeysStub(channel)
            await keys_tests.test_destroy_shreds_the_key_and_records_the_event_once(world, stub)
    finally:
        await server.stop()
