"""Gallery: vectorised cosine 1:N, add/replace/remove, top-k order."""

from __future__ import annotations

import numpy as np
import pytest
from lfr_inference.vision.matcher import COHORT_SIZE, COHORT_TOP_K, Gallery


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, 128)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_search_returns_the_exact_top_k_by_cosine_best_first():
    rng = np.random.default_rng(7)
    templates = _unit(rng, 500)
    gallery = Gallery(initial_capacity=8)  # forces several growths; plain cosine by default
    gallery.add_many((f"t{i}", t) for i, t in enumerate(templates))
    assert gallery.score_kind == "cosine"
    probe = templates[42] + 0.2 * _unit(rng, 1)[0]
    found = gallery.search(probe, k=5)
    expected = np.argsort(-(templates @ probe))[:5]
    assert [c.template_id for c in found] == [f"t{i}" for i in expected]
    assert found[0].template_id == "t42"
    assert [c.cosine for c in found] == sorted((c.cosine for c in found), reverse=True)


def test_templates_are_normalised_so_scores_are_cosines():
    gallery = Gallery()
    gallery.add("a", np.full(128, 3.0))
    (best,) = gallery.search(np.full(128, 1.0) / np.sqrt(128), k=1)
    assert best.cosine == pytest.approx(1.0, abs=1e-6)


def test_remove_swaps_the_last_row_in_and_forgets_the_template():
    rng = np.random.default_rng(1)
    templates = _unit(rng, 10)
    gallery = Gallery(initial_capacity=4)
    gallery.add_many((i, t) for i, t in enumerate(templates))
    assert gallery.remove(3) is True
    assert gallery.remove(3) is False
    assert len(gallery) == 9 and 3 not in gallery
    ids = {c.template_id for c in gallery.search(templates[3], k=9)}
    assert ids == set(range(10)) - {3}
    # the moved row still answers for its own id
    assert gallery.search(templates[9], k=1)[0].template_id == 9
    # no copy of the removed template is left in the spare capacity
    assert not np.any(np.all(np.isclose(gallery._matrix, templates[3]), axis=1))


def test_replacing_a_template_keeps_one_row():
    rng = np.random.default_rng(2)
    a, b = _unit(rng, 2)
    gallery = Gallery()
    gallery.add("x", a)
    gallery.add("x", b)
    assert len(gallery) == 1
    assert gallery.search(b, k=1)[0].cosine == pytest.approx(1.0, abs=1e-6)


def test_batch_search_equals_single_searches_and_empty_gallery_is_empty():
    rng = np.random.default_rng(3)
    templates, probes = _unit(rng, 50), _unit(rng, 4)
    gallery = Gallery()
    assert gallery.search(probes[0], k=3) == []
    gallery.add_many(enumerate(templates))
    batched = gallery.search_many(probes, k=3)
    single = [gallery.search(p, k=3) for p in probes]
    ids = [[c.template_id for c in row] for row in batched]
    assert ids == [[c.template_id for c in row] for row in single]
    for row_b, row_s in zip(batched, single, strict=True):  # BLAS kernels differ in the last bits
        assert [c.cosine for c in row_b] == pytest.approx([c.cosine for c in row_s], abs=1e-5)
    assert len(gallery.search(probes[0], k=100)) == 50


@pytest.mark.parametrize("bad", [np.zeros(128), np.full(127, 1.0), np.full(128, np.nan)])
def test_invalid_templates_are_refused(bad):
    with pytest.raises(ValueError):
        Gallery().add("bad", bad)


def test_large_galleries_score_with_snorm_against_a_fixed_size_cohort():
    rng = np.random.default_rng(9)
    n = COHORT_SIZE + 137
    templates = _unit(rng, n)
    gallery = Gallery(normalise=True)
    gallery.add_many(enumerate(templates))
    assert gallery.normalises and gallery.score_kind == "snorm"
    probe = templates[7] + 0.3 * _unit(rng, 1)[0]
    probe /= np.linalg.norm(probe)
    best = gallery.search(probe, k=3)
    assert best[0].template_id == 7
    assert best[0].cosine == pytest.approx(float(templates[7] @ probe), abs=1e-5)

    # the same S-norm, computed independently from its definition
    cohort = np.linspace(0, n - 1, COHORT_SIZE).round().astype(int)
    cos = templates @ probe
    top_p = np.sort(cos[cohort])[-COHORT_TOP_K:]
    t_cos = templates[7] @ templates[cohort].T
    t_cos[cohort == 7] = -np.inf
    top_t = np.sort(t_cos)[-COHORT_TOP_K:]
    expected = ((cos[7] - top_p.mean()) / (top_p.std() + 1e-6)
                + (cos[7] - top_t.mean()) / (top_t.std() + 1e-6)) / 2
    assert best[0].score == pytest.approx(expected, rel=1e-4)

    # removing templates below the cohort size falls back to plain cosine
    for i in range(200):
        gallery.remove(i + 100)
    assert not gallery.normalises
    assert gallery.search(probe, k=1)[0].score == pytest.approx(gallery.search(probe, k=1)[0].cosine)
