"""Export facenet-pytorch's MTCNN (P-Net, R-Net, O-Net) to ONNX for the Triton model repository.

Reproducible, throw-away environment (torch is never a runtime dependency of the workspace):

    python3 -m venv /tmp/export-venv
    /tmp/export-venv/bin/pip install torch==2.13.0 numpy onnx onnxruntime
    /tmp/export-venv/bin/pip install --no-deps facenet-pytorch==2.6.0
    /tmp/export-venv/bin/python tools/export_mtcnn.py            # writes deploy/triton/face_detector_*/

The weights are facenet-pytorch's `facenet_pytorch/data/{pnet,rnet,onet}.pt` (MIT licence), converted by
that project from the original MTCNN release (Zhang et al., 2016). facenet-pytorch pins torch<2.3 and
imports torchvision (for `nms` and `to_tensor` only) and its package `__init__` pulls in `requests`; none of
that is needed to build the three networks, so this tool stubs torchvision and imports the network module
without running the package `__init__`.

Tensor contract (all float32, NCHW, RGB, pixels normalised as (p - 127.5) / 128):
    face_detector_pnet: input [N,3,H,W] -> bbox_reg [N,4,h,w], prob [N,2,h,w]   (H, W >= 12, dynamic)
    face_detector_rnet: input [N,3,24,24] -> bbox_reg [N,4], prob [N,2]
    face_detector_onet: input [N,3,48,48] -> bbox_reg [N,4], landmarks [N,10], prob [N,2]
`prob[:, 1]` is the face probability; O-Net's landmarks are x1..x5 then y1..y5, relative to the box.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import sys
import types
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "deploy" / "triton"
OPSET = 17


def _install_import_stubs() -> Path:
    """Make `facenet_pytorch.models.mtcnn` importable without torchvision, requests or PIL."""
    import torch

    def batched_nms(boxes, scores, idxs, iou_threshold):  # pragma: no cover - unused by export
        raise NotImplementedError("nms is not part of the exported networks")

    def to_tensor(pic):  # pragma: no cover - unused by export
        return torch.as_tensor(np.asarray(pic)).permute(2, 0, 1).float() / 255.0

    stubs = {
        "torchvision": types.ModuleType("torchvision"),
        "torchvision.ops": types.ModuleType("torchvision.ops"),
        "torchvision.ops.boxes": types.ModuleType("torchvision.ops.boxes"),
        "torchvision.transforms": types.ModuleType("torchvision.transforms"),
        "torchvision.transforms.functional": types.ModuleType("torchvision.transforms.functional"),
    }
    stubs["torchvision.ops.boxes"].batched_nms = batched_nms  # type: ignore[attr-defined]
    stubs["torchvision.transforms.functional"].to_tensor = to_tensor  # type: ignore[attr-defined]
    stubs["torchvision.transforms"].functional = stubs["torchvision.transforms.functional"]  # type: ignore[attr-defined]
    if importlib.util.find_spec("PIL") is None:
        pil = types.ModuleType("PIL")
        pil.Image = types.ModuleType("PIL.Image")  # type: ignore[attr-defined]
        stubs["PIL"], stubs["PIL.Image"] = pil, pil.Image  # type: ignore[attr-defined]
    sys.modules.update(stubs)

    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("facenet-pytorch is not installed: pip install --no-deps facenet-pytorch==2.6.0")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    # A bare package object whose __path__ points at the real one: submodules import, __init__ does not run.
    for name, sub in (("facenet_pytorch", ""), ("facenet_pytorch.models", "models")):
        module = types.ModuleType(name)
        module.__path__ = [str(package_dir / sub) if sub else str(package_dir)]  # type: ignore[attr-defined]
        sys.modules[name] = module
    return package_dir


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export(out_dir: Path) -> dict[str, float]:
    import onnxruntime as ort
    import torch

    package_dir = _install_import_stubs()
    from facenet_pytorch.models.mtcnn import ONet, PNet, RNet  # type: ignore[import-not-found]

    torch.manual_seed(0)
    specs = {
        "face_detector_pnet": (PNet, (1, 3, 64, 80), ["bbox_reg", "prob"], {2: "height", 3: "width"}),
        "face_detector_rnet": (RNet, (1, 3, 24, 24), ["bbox_reg", "prob"], {}),
        "face_detector_onet": (ONet, (1, 3, 48, 48), ["bbox_reg", "landmarks", "prob"], {}),
    }
    max_abs_diff: dict[str, float] = {}
    for model_name, (net_cls, example_shape, output_names, spatial_axes) in specs.items():
        net = net_cls(pretrained=True).eval()
        example = torch.rand(example_shape) * 2 - 1
        target = out_dir / model_name / "1" / "model.onnx"
        target.parent.mkdir(parents=True, exist_ok=True)
        dynamic_axes = {"input": {0: "batch", **spatial_axes}}
        out_spatial = {2: "out_height", 3: "out_width"} if spatial_axes else {}
        for out_name in output_names:
            dynamic_axes[out_name] = {0: "batch", **out_spatial}
        torch.onnx.export(
            net,
            (example,),
            str(target),
            input_names=["input"],
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
        # Parity check on a different shape/batch than the export example.
        check_shape = (3, 3, 97, 131) if spatial_axes else (5, *example_shape[1:])
        probe = torch.rand(check_shape) * 2 - 1
        with torch.no_grad():
            expected = [t.numpy() for t in net(probe)]
        session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
        got = session.run(output_names, {"input": probe.numpy()})
        max_abs_diff[model_name] = float(max(np.abs(e - g).max() for e, g in zip(expected, got, strict=True)))
        (out_dir / model_name / "SHA256SUMS").write_text(f"{_sha256(target)}  1/model.onnx\n")
    print(f"weights from {package_dir / 'data'}; torch {torch.__version__}; opset {OPSET}")
    return max_abs_diff


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Triton model repository root")
    args = parser.parse_args()
    diffs = export(args.out)
    for name, diff in diffs.items():
        print(f"{name}: max |torch - onnxruntime| = {diff:.2e}")
        if diff > 1e-4:
            raise SystemExit(f"{name}: ONNX output differs from torch by {diff}")


if __name__ == "__main__":
    main()
