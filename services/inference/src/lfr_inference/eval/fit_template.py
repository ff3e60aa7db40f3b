"""Fit ``chips.CHIP_TEMPLATE``: where MTCNN's five points fall on dlib's 150x150 chip.

For every image where both MTCNN and dlib's 5-point predictor find the (central) face, dlib's own chip
transform (its landmarks -> its template, as ``get_face_chip_details`` computes it) is applied to the
MTCNN points; the template is the mean of those chip positions. Chips warped from MTCNN points onto
this template then match dlib's chips on average, which is what the embedder was trained on.

Run:  python -m lfr_inference.eval.fit_template IMAGES_DIR [--limit 800]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from lfr_inference.arrays import Float32Array, Float64Array
from lfr_inference.eval.extract import DLIB5_TEMPLATE, DlibReference, MtcnnLandmarks, load_rgb
from lfr_inference.vision.chips import similarity_transform


def mtcnn_points_on_dlib_chip(mtcnn_points: Float32Array, dlib_points: Float32Array) -> Float64Array:
    matrix = similarity_transform(dlib_points, DLIB5_TEMPLATE)
    on_chip: Float64Array = np.asarray(mtcnn_points, np.float64) @ matrix[:, :2].T + matrix[:, 2]
    return on_chip


def fit(paths: list[Path]) -> dict[str, object]:
    dlib_ref, mtcnn = DlibReference(), MtcnnLandmarks()
    on_chip = []
    for path in paths:
        image = load_rgb(path)
        ours, theirs = mtcnn.landmarks(image), dlib_ref.landmarks(image)
        if ours is not None and theirs is not None:
            on_chip.append(mtcnn_points_on_dlib_chip(ours[1], theirs[1]))
    points = np.stack(on_chip)
    template = np.median(points, axis=0)  # robust to the odd mismatched face
    return {
        "faces": len(on_chip),
        "template": np.round(template, 3).tolist(),
        "spread_px": np.round(points.std(axis=0), 2).tolist(),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("images", type=Path)
    parser.add_argument("--limit", type=int, default=800)
    args = parser.parse_args()
    paths = sorted(args.images.rglob("*.jpg"))
    step = max(1, len(paths) // args.limit)
    result = fit(paths[::step][: args.limit])
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
