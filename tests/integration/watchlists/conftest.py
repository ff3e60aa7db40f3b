from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from lfr_inference.app.enrolment import Enroller

from tests.fixtures.faces import head_of
from tests.integration.watchlists._env import WatchlistsEnv, encode, enrolment_pipeline, running_watchlists


@pytest.fixture(scope="module")
def enroller() -> Enroller:
    return enrolment_pipeline()  # real detector and embedder on onnxruntime: loaded once per module


@pytest.fixture
async def env(tmp_path: Path, enroller: Enroller) -> AsyncIterator[WatchlistsEnv]:
    async with running_watchlists(tmp_path, enroller) as running:
        yield running


@pytest.fixture(scope="module")
def faces(face_images_dir: Path) -> dict[str, bytes]:
    """Real face photos as uploads: two of one man, one of another."""
    return {
        "obama": encode(head_of(face_images_dir, "obama.jpg")),
        "obama2": encode(head_of(face_images_dir, "obama2.jpg")),
        "biden": encode(head_of(face_images_dir, "biden.jpg")),
    }


@pytest.fixture(scope="module")
def heads(face_images_dir: Path) -> dict[str, np.ndarray]:
    return {name: head_of(face_images_dir, f"{name}.jpg") for name in ("obama", "obama2", "biden")}
