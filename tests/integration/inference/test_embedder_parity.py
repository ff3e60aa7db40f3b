"""The exported ONNX embedder reproduces dlib's own descriptors, and the export is reproducible.

dlib (the `dlib-bin` dev dependency) is the reference here only; the service never imports it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from lfr_inference.vision.embedder import Embedder
from PIL import Image

REPO = Path(__file__).resolve().parents[3]
MODEL_DIR = REPO / "deploy" / "triton" / "face_embedder"

dlib = pytest.importorskip("dlib")


def _models_dir() -> Path:
    import face_recognition_models

    return Path(face_recognition_models.__file__).parent / "models"


@pytest.fixture(scope="module")
def dlib_reference():
    models = _models_dir()
    return (
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat")),
        dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat")),
    )


def test_onnx_embedding_matches_dlib_descriptor_on_every_test_face(face_images_dir, dlib_reference):
    detector, shape_predictor, reference_net = dlib_reference
    embedder = Embedder()
    cosines = []
    for path in sorted(face_images_dir.glob("*.jpg")):
        image = np.array(Image.open(path).convert("RGB"))
        for rect in detector(image, 1):
            chip = dlib.get_face_chip(image, shape_predictor(image, rect), size=150, padding=0.25)
            reference = np.array(reference_net.compute_face_descriptor(chip))
            ours, norms = embedder.embed_with_norms(chip[None])
            cosines.append(float(ours[0] @ reference / np.linalg.norm(reference)))
            # the raw descriptor norm is exported too (dlib does not normalise)
            assert norms[0] == pytest.approx(np.linalg.norm(reference), rel=1e-4)
    assert len(cosines) >= 5, "expected faces in every test image"
    assert min(cosines) >= 0.999, cosines


def test_committed_onnx_matches_sha256sums():
    sums = dict(
        (name, digest) for digest, name in
        (line.split(maxsplit=1) for line in (MODEL_DIR / "SHA256SUMS").read_text().splitlines())
    )
    digest = hashlib.sha256((MODEL_DIR / "1" / "model.onnx").read_bytes()).hexdigest()
    assert sums["1/model.onnx"] == digest


def test_export_is_reproducible_from_the_registry_weights(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "export_dlib_embedder", REPO / "tools" / "export_dlib_embedder.py"
    )
    assert spec is not None and spec.loader is not None
    exporter = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = exporter  # dataclasses look their module up while the class is built
    spec.loader.exec_module(exporter)
    out = tmp_path / "model.onnx"
    digest = exporter.export(exporter.default_dat_path(), out)
    assert digest == hashlib.sha256((MODEL_DIR / "1" / "model.onnx").read_bytes()).hexdigest()
