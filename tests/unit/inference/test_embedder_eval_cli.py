"""`lfr eval verify` / `identify` end to end on the registry's real test faces (tiny, but real).

The full runs on LFW devtrain are reported in deploy/triton/MODEL_CARD.md; tests must not need LFW.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lfr_inference.eval.cli import eval_app
from PIL import Image
from typer.testing import CliRunner

pytest.importorskip("dlib")  # the baseline pipeline is dlib (dev dependency)


@pytest.fixture(scope="module")
def lfw_like(face_images_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two identities in LFW layout: Obama x3 (gallery + 2 mated probes), Biden x1 (non-mated)."""
    tmp_path = tmp_path_factory.mktemp("lfw-like")
    images = tmp_path / "images"
    for identity, files in {"Barack_Obama": ["obama.jpg", "obama2.jpg", "obama3.jpg"],
                            "Joe_Biden": ["biden.jpg"]}.items():
        (images / identity).mkdir(parents=True)
        for number, name in enumerate(files, start=1):
            with Image.open(face_images_dir / name) as image:  # LFW-sized images keep the test quick
                image.convert("RGB").resize((300, 300 * image.height // image.width)).save(
                    images / identity / f"{identity}_{number:04d}.jpg", quality=95)
    (tmp_path / "pairs.txt").write_text(
        "2\nBarack_Obama\t1\t2\nBarack_Obama\t1\t3\nBarack_Obama\t2\tJoe_Biden\t1\nBarack_Obama\t3\tJoe_Biden\t1\n"
    )
    return tmp_path


def test_verify_prints_stable_json_keys_and_separates_the_pairs(lfw_like: Path):
    result = CliRunner().invoke(eval_app, [
        "verify", "--pairs", str(lfw_like / "pairs.txt"), "--images", str(lfw_like / "images"), "--json",
        "--cache-dir", str(lfw_like / "cache"), "--roc-png", str(lfw_like / "roc.png"),
    ])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"accuracy", "std", "folds", "threshold", "pairs", "roc_png"} <= out.keys()
    assert out["pairs"] == 4 and out["faces_not_found"] == 0
    assert out["accuracy"] == 1.0  # Obama/Obama pairs all score above Obama/Biden pairs
    assert (lfw_like / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_identify_reports_tpir_thresholds_and_the_dlib_baseline(lfw_like: Path):
    groups = lfw_like / "groups.csv"
    groups.write_text("identity,group\nBarack_Obama,a\nJoe_Biden,b\n")
    result = CliRunner().invoke(eval_app, [
        "identify", "--images", str(lfw_like / "images"), "--json", "--groups", str(groups),
        "--cache-dir", str(lfw_like / "cache"), "--det-png", str(lfw_like / "det.png"),
    ])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out["tpir_at_fpir"]) == {"0.01", "0.001", "0.0001"}
    assert set(out["baseline"]["tpir_at_fpir"]) == {"0.01", "0.001", "0.0001"}
    assert (out["gallery_size"], out["mated_probes"], out["non_mated_probes"]) == (1, 2, 1)
    # with one non-mated probe no FPIR target is resolvable: the threshold sits above Biden's score
    assert out["thresholds"]["0.01"]["resolvable"] is False
    assert out["thresholds"]["0.01"]["observed_fpir"] == 0.0
    assert out["tpir_at_fpir"]["0.01"] == 1.0  # both Obama probes still beat that threshold
    assert set(out["subgroups"]) == {"a", "b"}
    assert (lfw_like / "det.png").exists()
