from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from lfr_platform.messaging import KafkaSettings

from ._pipeline import Pipeline, make_pipeline


@pytest.fixture
async def pipeline(
    tmp_path: Path, kafka_settings: KafkaSettings, topic_prefix: str
) -> AsyncIterator[Pipeline]:
    built = await make_pipeline(tmp_path, kafka_settings, topic_prefix)
    try:
        yield built
    finally:
        await built.close()
