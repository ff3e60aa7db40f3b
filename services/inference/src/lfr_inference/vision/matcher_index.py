"""An int8 prefilter for large galleries: the first stage of a two-stage exact-on-top 1:N search.

A full float32 scan of 1,000,000 templates reads 512 MB per probe and is memory-bound (~90 ms here).
The prefilter keeps a second copy of every template, centred on the gallery mean, rotated onto the
gallery's principal axes, and quantised to int8 per axis, and scans it with onnxruntime's
``MatMulInteger`` kernel on a constant, pre-packed weight (measured here: ~15 ms for 1M x 128 int8 on
one core against ~90 ms for the float32 scan, under the same load). Only axes carrying variance are
kept: the smallest multiple of 16 leaving at most ``RESIDUAL_VARIANCE`` of it out. The dlib embedder's
templates span only ~78 dimensions (measured on LFW devtrain: 80 axes leave 3.5e-7 of the variance),
so they keep 80 axes (80 bytes a template); random isotropic templates keep all 128. ``Gallery``
then re-ranks the prefilter's top ``k`` rows exactly in float32, so every returned cosine is exact and
the top candidate is exact whenever the true best row is among the prefilter's top ``k`` (recall
measured in tests/unit/inference/test_matcher_index.py).

Why the quantised score ranks like the cosine: ``p . t = p . (t - mu) + p . mu`` and ``p . mu`` is the
same for every template, so ranking by ``p . (t - mu)`` is exact; per-dimension scales ``s`` are folded
into the probe (``p . (t - mu) = (p * s) . ((t - mu) / s)``), and the int32 dot product of the two
quantised vectors is that value up to one positive factor. With the rotation ``W`` (orthonormal
columns), ``p . (t - mu) = (W'p) . (W'(t - mu))`` up to the dropped axes' (negligible) share.

The templates are split into fixed blocks of rows, one onnxruntime session per block (its weight is a
constant the kernel packs once). A change to a row marks its block stale; stale blocks are rebuilt at
the next search (``refresh``; ~0.1 s per block), so removal is exact: a removed template's row is
rebuilt from the live matrix before the next search can see it, and re-ranking reads the live matrix.
"""

from __future__ import annotations

import threading

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from lfr_inference.arrays import Float32Array, IndexArray, Int8Array, Int32Array, UInt8Array

BLOCK_ROWS = 1 << 16
RESIDUAL_VARIANCE = 1e-5
_SCORE_FLOOR = np.iinfo(np.int32).min
_GROUP = 64  # rows per group in the two-level top-k selection


def _block_session(codes: Int8Array) -> ort.InferenceSession:
    """A session computing int32 ``A [M, dim] (uint8, zero point 128) @ codes [dim, rows] (int8)``."""
    dim, rows = codes.shape
    node = helper.make_node("MatMulInteger", ["probe", "codes", "probe_zero"], ["scores"])
    graph = helper.make_graph(
        [node], "prefilter",
        [helper.make_tensor_value_info("probe", TensorProto.UINT8, [None, dim])],
        [helper.make_tensor_value_info("scores", TensorProto.INT32, [None, rows])],
        initializer=[
            numpy_helper.from_array(codes, "codes"),
            numpy_helper.from_array(np.array(128, np.uint8), "probe_zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    options = ort.SessionOptions()
    # One thread without spinning: a single-probe scan is memory-bound, and spinning worker threads
    # make it many times slower on a loaded host (measured: 2 threads slower than 1 here).
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


class QuantisedIndex:
    """int8 copy of a gallery matrix's live rows, scanned in blocks; rows are the gallery's rows."""

    def __init__(self, dim: int, block_rows: int = BLOCK_ROWS) -> None:
        self.dim = dim
        self.block_rows = block_rows
        self._lock = threading.Lock()
        self._mean: Float32Array | None = None
        self._axes: Float32Array | None = None  # [dim, kept] orthonormal columns
        self._scale: Float32Array | None = None
        self._stats_size = 0
        self._sessions: list[ort.InferenceSession] = []
        self._block_sizes: list[int] = []  # rows each block was built with
        self._stale: set[int] = set()
        self._size = 0
        self._scores = np.empty((1, 0), np.int32)
        self._binding: list[ort.IOBinding] = []
        self._probe_codes = np.zeros((1, dim), np.uint8)

    @property
    def kept_axes(self) -> int:
        return self.dim if self._axes is None else self._axes.shape[1]

    @property
    def nbytes(self) -> int:
        """Memory held by the packed codes (approximately: the sessions' copy of the int8 weights)."""
        return sum(self._block_sizes) * self.kept_axes + self._scores.nbytes

    def mark(self, row: int) -> None:
        """A row changed (added, replaced, or a removed row's hole refilled)."""
        self._stale.add(row // self.block_rows)

    def reset(self) -> None:
        with self._lock:
            self._sessions, self._block_sizes, self._binding = [], [], []
            self._stale.clear()
            self._mean = self._scale = self._axes = None
            self._size = 0

    def refresh(self, live: Float32Array) -> None:
        """Bring the index up to date with the gallery's live rows (rebuilds stale blocks only)."""
        with self._lock:
            size = len(live)
            if self._mean is None or not self._stats_size / 2 <= size <= 2 * self._stats_size:
                self._fit(live)  # the quantiser follows the gallery as it grows or shrinks a lot
            blocks = -(-size // self.block_rows)
            del self._sessions[blocks:], self._block_sizes[blocks:]
            rebuilt = False
            for block in range(blocks):
                start = block * self.block_rows
                rows = min(self.block_rows, size - start)
                built = block < len(self._sessions) and self._block_sizes[block] == rows
                if built and block not in self._stale:
                    continue
                session = _block_session(self._codes(live[start : start + rows]))
                rebuilt = True
                if block < len(self._sessions):
                    self._sessions[block], self._block_sizes[block] = session, rows
                else:
                    self._sessions.append(session)
                    self._block_sizes.append(rows)
            self._stale.clear()
            if rebuilt or size != self._size:
                self._bind(size)

    def _fit(self, live: Float32Array) -> None:
        # 20,000 rows pin a 128-d covariance down well; more only slows a rebuild
        sample = live[np.linspace(0, len(live) - 1, min(len(live), 20_000)).astype(np.int64)]
        self._mean = sample.mean(axis=0).astype(np.float32)
        centred = sample - self._mean
        variances, axes = np.linalg.eigh(centred.T.astype(np.float64) @ centred)
        variances, axes = variances[::-1].clip(0), axes[:, ::-1]
        left_out = 1 - np.cumsum(variances) / max(variances.sum(), 1e-30)
        enough = np.flatnonzero(left_out <= RESIDUAL_VARIANCE)
        needed = int(enough[0]) + 1 if len(enough) else self.dim
        kept = min(self.dim, 16 * -(-needed // 16))
        # all axes kept: quantise the original coordinates instead (same accuracy, no rotation cost)
        chosen = np.eye(self.dim) if kept == self.dim else axes[:, :kept]
        self._axes = np.ascontiguousarray(chosen, dtype=np.float32)
        self._probe_codes = np.zeros((1, kept), np.uint8)
        spread = np.abs(centred @ self._axes).max(axis=0)
        # headroom for later templates; anything beyond it is clipped (that only blurs the prefilter)
        self._scale = (np.maximum(spread, 1e-6) * 1.25 / 127).astype(np.float32)
        self._stats_size = len(live)
        self._stale = set(range(len(self._sessions)))

    def _codes(self, rows: Float32Array) -> Int8Array:
        assert self._mean is not None and self._scale is not None and self._axes is not None
        codes = np.empty((self.kept_axes, len(rows)), np.int8)  # [axes, rows]: the kernel's layout
        for start in range(0, len(rows), 8192):  # bounded temporaries
            part = rows[start : start + 8192] - self._mean
            if self.kept_axes < self.dim:
                part = part @ self._axes
            part /= self._scale
            np.clip(np.rint(part), -127, 127, out=part)
            codes[:, start : start + len(part)] = part.T
        return codes

    def _bind(self, size: int) -> None:
        padded = -(-size // _GROUP) * _GROUP
        self._scores = np.full((1, padded), _SCORE_FLOOR, np.int32)  # padding never wins
        self._binding = []
        for block, session in enumerate(self._sessions):
            start = block * self.block_rows
            out = self._scores[:, start : start + self._block_sizes[block]]
            binding = session.io_binding()
            binding.bind_output("scores", "cpu", 0, np.int32, out.shape, out.ctypes.data)
            self._binding.append(binding)
        self._size = size

    def quantise_probes(self, probes: Float32Array) -> UInt8Array:
        assert self._scale is not None and self._axes is not None
        rotated = probes @ self._axes if self.kept_axes < self.dim else probes
        folded = rotated * self._scale
        peak = np.abs(folded).max(axis=1, keepdims=True)
        codes: UInt8Array = (np.rint(folded * (127 / np.maximum(peak, 1e-30))) + 128).astype(np.uint8)
        return codes

    def candidates(self, probes: Float32Array, k: int) -> IndexArray:
        """Rows of the ``k`` best prefilter scores for each probe ([M, min(k, size)], unordered).

        The caller must have called ``refresh`` with the current live rows."""
        codes = self.quantise_probes(np.atleast_2d(probes).astype(np.float32))
        out = np.empty((len(codes), min(k, self._size)), np.int64)
        with self._lock:
            for i, code in enumerate(codes):
                self._probe_codes[0] = code
                for session, binding in zip(self._sessions, self._binding, strict=True):
                    binding.bind_cpu_input("probe", self._probe_codes)
                    session.run_with_iobinding(binding)
                out[i] = _top_rows(self._scores[0], self._size, k)
        return out


def _top_rows(scores: Int32Array, size: int, k: int) -> IndexArray:
    """Exact top-k of ``scores[:size]`` without a full partition: the best rows lie in the k groups
    of ``_GROUP`` rows with the highest group maxima (each such row's group has a maximum at least
    that high, and at most k groups can hold a top-k row)."""
    if k >= size:
        return np.arange(size)
    groups = scores.reshape(-1, _GROUP).max(axis=1)
    if k >= len(groups):
        return np.argpartition(scores[:size], size - k)[size - k :]
    best_groups = np.argpartition(groups, len(groups) - k)[len(groups) - k :]
    rows = (best_groups[:, None] * _GROUP + np.arange(_GROUP)).ravel()
    rows = rows[rows < size]
    best: IndexArray = rows[np.argpartition(scores[rows], len(rows) - k)[len(rows) - k :]]
    return best
