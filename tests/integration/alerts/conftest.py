from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.alerts._env import AlertsEnv, running_alerts


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def alerts_env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AlertsEnv]:
    """The same suite on both stores the platform supports (event store and read model)."""
    overrides: dict[str, Any] = {"alerts_review_timeout_seconds": 60}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("new_postgres_database")()
    async with running_alerts(tmp_path, **overrides) as env:
        yield env
