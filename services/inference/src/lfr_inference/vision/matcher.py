"""The watchlist gallery: vectorised 1:N search over a float32 template matrix.

Templates are L2-normalised embeddings, so cosine similarity is one matrix-vector product. The matrix
grows by doubling and removal swaps the last row into the hole, so add/remove are O(1) amortised and a
search never copies the gallery.

Scores are raw cosines or, for galleries of at least ``COHORT_SIZE`` templates, cohort-normalised
("S-norm" with an adaptive top-k cohort: Auckenthaler et al. 2000; Sturim & Reynolds 2005). The
cohort is the watchlist itself (every other entry is a non-mate for almost every probe), so no face
data beyond the watchlist is needed. To keep the score scale independent of the watchlist size, both
halves use a fixed-size cohort of ``COHORT_SIZE`` templates sampled evenly from the gallery and the
statistics of each one's ``COHORT_TOP_K`` most similar cohort members:

    snorm(p, t) = ((s - mean_k(p)) / std_k(p) + (s - mean_k(t)) / std_k(t)) / 2

``calibration`` maps either score to the calibrated score the deployment threshold is expressed in;
each kind has its own calibration file (``Gallery.score_kind``). S-norm is **off by default**: it lifted
TPIR at low FPIR on the LFW devtrain half it was tuned on, but on the held-out half plain (flip-averaged)
cosine measured better (deploy/triton/MODEL_CARD.md), so it stays an option, not the default.

Large galleries (more than ``exact_up_to`` templates, plain cosine) search in two stages: an int8
prefilter (``matcher_index.QuantisedIndex``) scans every template and proposes its ``prefilter_k`` best
rows, which are re-ranked exactly in float32. Returned cosines are always exact; the top candidate is
the exact top whenever it is among the prefilter's proposals (recall measured in
tests/unit/inference/test_matcher_index.py and by ``lfr bench inference``). Below the threshold, and
with S-norm (which needs every cosine), the search is an exact full scan.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from lfr_inference.arrays import Float32Array, IndexArray
from lfr_inference.vision.embedder import EMBEDDING_DIM
from lfr_inference.vision.matcher_index import QuantisedIndex

COHORT_SIZE = 500
COHORT_TOP_K = 50
EXACT_UP_TO = 100_000  # exact full scans up to this size (15k: ~0.5 ms); the prefilter above it
PREFILTER_K = 256

K = TypeVar("K", bound=Hashable)  # a gallery's template id: whatever its owner finds its templates by


@dataclass(frozen=True)
class Candidate(Generic[K]):
    template_id: K
    cosine: float
    score: float  # the comparison score: normalised when the gallery normalises, else the cosine


def cohort_rows(size: int, cohort_size: int = COHORT_SIZE) -> IndexArray:
    """Evenly spaced gallery rows forming the fixed-size cohort (all rows when the gallery is small)."""
    if size <= cohort_size:
        return np.arange(size)
    return np.linspace(0, size - 1, cohort_size).round().astype(np.int64)


def top_k_stats(scores: Float32Array, k: int = COHORT_TOP_K) -> tuple[Float32Array, Float32Array]:
    """Mean and std of each row's k highest scores ([M, 1] each); -inf entries are never among them
    as long as a row has k finite scores."""
    k = min(k, scores.shape[1])
    top = np.partition(scores, scores.shape[1] - k, axis=1)[:, -k:]
    return top.mean(axis=1, keepdims=True), top.std(axis=1, keepdims=True) + 1e-6


def template_cohort_stats(matrix: Float32Array, k: int = COHORT_TOP_K) -> tuple[Float32Array, Float32Array]:
    """Per-template (Z-norm) statistics against the cohort, excluding the template itself."""
    rows = cohort_rows(len(matrix))
    cohort = matrix[rows]
    means, stds = np.empty(len(matrix), np.float32), np.empty(len(matrix), np.float32)
    for start in range(0, len(matrix), 2048):
        block = matrix[start : start + 2048] @ cohort.T
        own = np.nonzero((rows >= start) & (rows < start + len(block)))[0]
        block[rows[own] - start, own] = -np.inf
        mean, std = top_k_stats(block, k)
        means[start : start + len(block)], stds[start : start + len(block)] = mean[:, 0], std[:, 0]
    return means, stds


def snorm(cosines: Float32Array, cohort_cosines: Float32Array, template_mean: Float32Array,
          template_std: Float32Array, k: int = COHORT_TOP_K) -> Float32Array:
    """S-norm of [M, N] cosines given each probe's cosines to the cohort ([M, C])."""
    probe_mean, probe_std = top_k_stats(cohort_cosines, k)
    probe_z = (cosines - probe_mean) / probe_std
    template_z = (cosines - template_mean[None, :]) / template_std[None, :]
    normalised: Float32Array = (probe_z + template_z) / 2
    return normalised


class Gallery(Generic[K]):
    """Templates keyed by an opaque id (the watchlist entry's template blob id, say)."""

    def __init__(
        self,
        dim: int = EMBEDDING_DIM,
        initial_capacity: int = 1024,
        normalise: bool = False,
        *,
        exact_up_to: int = EXACT_UP_TO,
        prefilter_k: int = PREFILTER_K,
    ) -> None:
        self.dim = dim
        self.normalise_requested = normalise
        self.exact_up_to = exact_up_to
        self.prefilter_k = prefilter_k
        self._index = QuantisedIndex(dim)
        self._template_stats: tuple[Float32Array, Float32Array] | None = None
        self._matrix = np.zeros((max(1, initial_capacity), dim), dtype=np.float32)
        self._ids: list[K] = []
        self._row_of: dict[K, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, template_id: object) -> bool:
        return template_id in self._row_of

    @property
    def normalises(self) -> bool:
        """Whether scores are S-normalised (requested, and the gallery is as large as the cohort)."""
        return self.normalise_requested and len(self._ids) >= COHORT_SIZE

    @property
    def score_kind(self) -> str:
        """Which calibration applies to this gallery's scores."""
        return "snorm" if self.normalises else "cosine"

    @property
    def matrix(self) -> Float32Array:
        """A read-only view of the live rows."""
        view = self._matrix[: len(self._ids)]
        view.flags.writeable = False
        return view

    def add(self, template_id: K, template: Float32Array) -> None:
        """Add or replace a template. It is L2-normalised on the way in."""
        vector = _normalised(np.asarray(template, dtype=np.float32).reshape(-1), self.dim)
        self._template_stats = None
        if template_id in self._row_of:
            row = self._row_of[template_id]
            self._matrix[row] = vector
            self._index.mark(row)
            return
        self._reserve(len(self._ids) + 1)
        row = len(self._ids)
        self._row_of[template_id] = row
        self._matrix[row] = vector
        self._ids.append(template_id)
        self._index.mark(row)

    def add_many(self, items: Iterable[tuple[K, Float32Array]]) -> None:
        """Add or replace many templates at once (vectorised; a later duplicate id wins)."""
        pairs = items if isinstance(items, Sequence) else list(items)
        if not pairs:
            return
        templates = np.empty((len(pairs), self.dim), np.float32)
        try:
            for row, (_, template) in enumerate(pairs):
                templates[row] = template
        except ValueError as error:
            raise ValueError(f"templates must each have {self.dim} values") from error
        self.add_matrix([template_id for template_id, _ in pairs], templates)

    def add_matrix(self, ids: Sequence[K], templates: Float32Array) -> None:
        """Bulk load: ``templates[i]`` ([N, dim]) under ``ids[i]``. All are validated before any is
        added; each is L2-normalised; a later duplicate id wins, as with repeated ``add``."""
        vectors = np.asarray(templates, dtype=np.float32)
        if vectors.shape != (len(ids), self.dim):
            raise ValueError(f"expected {len(ids)} templates of {self.dim} values, got {vectors.shape}")
        norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))
        if not np.all(np.isfinite(norms)):  # a NaN or inf anywhere makes its row's norm non-finite
            raise ValueError("a template contains non-finite values")
        if np.any(norms == 0.0):
            raise ValueError("a template is the zero vector")
        self._template_stats = None
        unique = len(set(ids)) == len(ids)
        if not unique or not self._row_of.keys().isdisjoint(ids):
            for template_id, vector in {t: i for i, t in enumerate(ids)}.items():
                self.add(template_id, vectors[vector])  # replacements: the rare, slower path
            return
        start, end = len(self._ids), len(self._ids) + len(ids)
        self._reserve(end)
        np.divide(vectors, norms[:, None], out=self._matrix[start:end])
        self._row_of.update(zip(ids, range(start, end), strict=True))
        self._ids.extend(ids)
        for row in range(start, end, self._index.block_rows):
            self._index.mark(row)
        self._index.mark(end - 1)

    def _reserve(self, rows: int) -> None:
        """Grow the matrix (at least doubling) so it holds ``rows`` rows."""
        if rows <= len(self._matrix):
            return
        grown = np.zeros((max(rows, 2 * len(self._matrix)), self.dim), dtype=np.float32)
        grown[: len(self._ids)] = self._matrix[: len(self._ids)]
        self._matrix = grown

    def remove(self, template_id: K) -> bool:
        """Remove a template; returns False when it was not there."""
        row = self._row_of.pop(template_id, None)
        if row is None:
            return False
        self._template_stats = None
        last = len(self._ids) - 1
        if row != last:
            moved = self._ids[last]
            self._matrix[row] = self._matrix[last]
            self._ids[row] = moved
            self._row_of[moved] = row
        self._matrix[last] = 0.0  # no stale template lingers in the spare capacity
        self._ids.pop()
        self._index.mark(row)  # rebuilt before the next indexed search: the old code is gone then
        self._index.mark(last)
        return True

    def clear(self) -> None:
        self._template_stats = None
        self._index.reset()
        self._matrix[: len(self._ids)] = 0.0
        self._ids.clear()
        self._row_of.clear()

    def cosines(self, probes: Float32Array) -> Float32Array:
        """Cosine of each probe [M,128] (or [128]) against every template -> [M, len]."""
        queries = np.atleast_2d(np.asarray(probes, dtype=np.float32))
        live = self._matrix[: len(self._ids)]
        if len(queries) == 1:
            # numpy's own SIMD loop, not BLAS: a multi-threaded BLAS gemv spins its threads and is
            # 10-20x slower on a loaded host; one pass over the gallery is memory-bound anyway.
            single: Float32Array = np.einsum("ij,j->i", live, queries[0])[None, :]
            return single
        return (live @ queries.T).T

    def scores(self, probes: Float32Array) -> tuple[Float32Array, Float32Array]:
        """(cosines, comparison scores) [M, len]; the scores are S-normalised when ``normalises``."""
        cosines = self.cosines(probes)
        if not self.normalises:
            return cosines, cosines
        live = self._matrix[: len(self._ids)]
        if self._template_stats is None:  # recomputed lazily after the gallery changes
            self._template_stats = template_cohort_stats(live)
        rows = cohort_rows(len(self._ids))
        return cosines, snorm(cosines, cosines[:, rows], *self._template_stats)

    def search(self, probe: Float32Array, k: int = 1) -> list[Candidate[K]]:
        """The k most similar templates to one probe, best first."""
        return self.search_many(np.asarray(probe).reshape(1, -1), k)[0]

    @property
    def uses_prefilter(self) -> bool:
        """Whether searches run the int8 prefilter then exact re-ranking (else an exact full scan)."""
        return not self.normalises and len(self._ids) > self.exact_up_to

    @property
    def nbytes(self) -> int:
        """Memory held by the templates (float32 matrix with spare capacity, plus the prefilter)."""
        return self._matrix.nbytes + self._index.nbytes

    def prepare(self) -> None:
        """Build what the next search needs now (after a bulk load, say) rather than in that search."""
        if self.uses_prefilter:
            self._index.refresh(self._matrix[: len(self._ids)])

    def search_many(self, probes: Float32Array, k: int = 1) -> list[list[Candidate[K]]]:
        """Top-k for each of several probes (one matrix product for the batch)."""
        size = len(self._ids)
        queries = np.atleast_2d(np.asarray(probes, dtype=np.float32))
        if size == 0 or k <= 0:
            return [[] for _ in range(len(queries))]
        if self.uses_prefilter and k <= self.prefilter_k:
            return self._search_prefiltered(queries, k)
        all_cosines, all_scores = self.scores(queries)
        k = min(k, size)
        if k == 1:  # argmax is several times cheaper than a partition
            top = np.argmax(all_scores, axis=1)[:, None]
        elif k < size:
            top = np.argpartition(all_scores, size - k, axis=1)[:, size - k :]
        else:
            top = np.tile(np.arange(size), (len(queries), 1))
        results = []
        for row, cos_row, columns in zip(all_scores, all_cosines, top, strict=True):
            ordered = columns[np.argsort(-row[columns], kind="stable")]
            results.append([Candidate(self._ids[c], float(cos_row[c]), float(row[c])) for c in ordered])
        return results

    def _search_prefiltered(self, queries: Float32Array, k: int) -> list[list[Candidate[K]]]:
        live = self._matrix[: len(self._ids)]
        self._index.refresh(live)
        proposals = self._index.candidates(queries, self.prefilter_k)
        results = []
        for query, rows in zip(queries, proposals, strict=True):
            cosines = live[rows] @ query  # exact float32 re-ranking of the proposals
            best = np.argsort(-cosines, kind="stable")[:k]
            results.append([Candidate(self._ids[r], float(c), float(c))
                            for r, c in zip(rows[best], cosines[best], strict=True)])
        return results


def _normalised(vector: Float32Array, dim: int) -> Float32Array:
    if vector.shape != (dim,):
        raise ValueError(f"template must have {dim} values, got {vector.shape}")
    if not np.all(np.isfinite(vector)):
        raise ValueError("template contains non-finite values")
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        raise ValueError("template is the zero vector")
    return vector / norm
