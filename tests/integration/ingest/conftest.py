from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from lfr_platform.messaging import KafkaSettings

from ._harness import Harness, start_harness


@pytest.fixture
async def ingest(tmp_path: Path, kafka_settings: KafkaSettings, topic_prefix: str) -> AsyncIterator[Harness]:
    harness, close = await start_harness(tmp_path, kafka_settings, topic_prefix)
    try:
        yield harness
    finally:
        await close()
