"""Two-stage search (int8 prefilter + exact re-ranking) and the bulk load path of Gallery."""

from __future__ import annotations

import numpy as np
import pytest
from lfr_inference.vision.matcher import Gallery

DIM = 128


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _face_like(rng: np.random.Generator, n: int) -> np.ndarray:
    """Embeddings shaped like a face model's: a strong common direction (so impostor cosines are high
    and bunched, as with dlib's) and a decaying spectrum, which is harder for a quantiser than
    isotropic noise."""
    common = _unit(rng.standard_normal(DIM))
    spread = np.linspace(1.0, 0.15, DIM).astype(np.float32)
    return _unit(4.0 * common + rng.standard_normal((n, DIM), dtype=np.float32) * spread * 0.35)


def _near(rng: np.random.Generator, targets: np.ndarray, cosines: np.ndarray) -> np.ndarray:
    """Unit vectors at exactly the given cosine to each target."""
    noise = rng.standard_normal(targets.shape).astype(np.float32)
    noise -= np.sum(noise * targets, axis=1, keepdims=True) * targets
    noise = _unit(noise)
    return _unit(cosines[:, None] * targets + np.sqrt(1 - cosines[:, None] ** 2) * noise)


def test_prefiltered_top_1_equals_the_exact_top_1_on_200k_with_planted_near_duplicates():
    rng = np.random.default_rng(11)
    templates = _face_like(rng, 200_000)
    probes_n = 1000
    targets = rng.choice(len(templates), probes_n, replace=False)
    # Twins: a quarter of the targets get three near-duplicate enrolments (the same person enrolled
    # again), so the exact top 1 is decided by about a thousandth of cosine: finer than the int8
    # prefilter resolves, so only the exact re-ranking gets these right (checked at the end).
    twins = targets[: probes_n // 4]
    others = np.setdiff1d(np.arange(len(templates)), targets)
    spare = rng.choice(others, (3, len(twins)), replace=False)
    for copy in range(3):
        templates[spare[copy]] = _near(rng, templates[twins], np.full(len(twins), 0.996 + 0.0015 * copy,
                                                                      np.float32))
    # Probes from just above the impostor bulk up to near-identical.
    probes = _near(rng, templates[targets], rng.uniform(0.9, 0.999, probes_n).astype(np.float32))

    gallery = Gallery(exact_up_to=10_000)
    gallery.add_matrix(list(range(len(templates))), templates)
    assert gallery.uses_prefilter
    exact = probes @ templates.T  # [probes, N]: argmax along rows, not down 200k-long columns (~2 s)
    exact_best = np.argmax(exact, axis=1)
    found = gallery.search_many(probes, k=1)
    found_ids = np.array([row[0].template_id for row in found])
    misses = int(np.sum(found_ids != exact_best))
    assert misses == 0, f"{misses} of {probes_n} top-1 differ from the exact search"
    found_cos = np.array([row[0].cosine for row in found])
    assert found_cos == pytest.approx(exact[np.arange(probes_n), exact_best], abs=1e-5)
    # the planted set is hard: trusting the prefilter's own top 1 gets some twins wrong
    gallery.prefilter_k = 1
    twin_probes = probes[: len(twins)]
    prefilter_only = [row[0].template_id for row in gallery.search_many(twin_probes, k=1)]
    assert np.sum(np.array(prefilter_only) != exact_best[: len(twins)]) > 0


def test_low_rank_templates_keep_only_their_axes_and_the_top_1_stays_exact():
    """The dlib embedder's templates span ~78 of 128 dimensions; the prefilter then keeps 80 axes."""
    rng = np.random.default_rng(12)
    basis = np.linalg.qr(rng.standard_normal((DIM, 70)))[0].astype(np.float32)  # [128, 70]
    common = _unit(rng.standard_normal(DIM))
    coords = rng.standard_normal((60_000, 70)).astype(np.float32) * np.linspace(1, 0.2, 70)
    templates = _unit(2.5 * common + 0.3 * coords @ basis.T)
    targets = rng.choice(len(templates), 300, replace=False)
    probes = _near(rng, templates[targets], rng.uniform(0.9, 0.999, 300).astype(np.float32))
    gallery = Gallery(exact_up_to=1000)
    gallery.add_matrix(list(range(len(templates))), templates)
    found = [row[0].template_id for row in gallery.search_many(probes, k=1)]
    assert gallery._index.kept_axes == 80  # 70 spanned axes (+ the mean's), rounded up to 16s
    assert found == list(np.argmax(templates @ probes.T, axis=0))


def test_prefilter_returns_exact_cosines_in_exact_order_for_top_k():
    rng = np.random.default_rng(5)
    templates = _face_like(rng, 3000)
    gallery = Gallery(exact_up_to=100, prefilter_k=64)
    gallery.add_matrix(list(range(3000)), templates)
    probe = _near(rng, templates[[17]], np.array([0.95], np.float32))[0]
    found = gallery.search(probe, k=10)
    exact = templates @ probe
    assert [c.template_id for c in found] == list(np.argsort(-exact)[:10])
    assert [c.cosine for c in found] == pytest.approx(list(np.sort(exact)[::-1][:10]), abs=1e-6)
    assert all(c.score == c.cosine for c in found)
    # more candidates than the prefilter proposes: the exact scan answers
    assert len(gallery.search(probe, k=100)) == 100


def test_a_removed_template_is_never_matched_again_by_the_prefiltered_search():
    rng = np.random.default_rng(8)
    templates = _face_like(rng, 5000)
    gallery = Gallery(exact_up_to=100)
    gallery.add_matrix([f"t{i}" for i in range(5000)], templates)
    assert gallery.search(templates[123], k=1)[0].template_id == "t123"  # builds the index
    assert gallery.remove("t123")
    found = gallery.search(templates[123], k=5)
    assert "t123" not in {c.template_id for c in found}
    assert found[0].cosine < 0.999
    # the last row moved into the hole and is still found under its own id, exactly
    assert gallery.search(templates[4999], k=1)[0].template_id == "t4999"
    gallery.add("t123", templates[123])
    assert gallery.search(templates[123], k=1)[0].template_id == "t123"
    gallery.add("t123", templates[7])  # replaced: the old template no longer matches under that id
    best = gallery.search(templates[123], k=1)[0]
    assert best.template_id != "t123" or best.cosine < 0.999


def test_bulk_load_equals_one_by_one_adds_and_a_later_duplicate_wins():
    rng = np.random.default_rng(4)
    templates = rng.standard_normal((300, DIM)).astype(np.float32) * 3
    one_by_one = Gallery(initial_capacity=4)
    for i, t in enumerate(templates):
        one_by_one.add(i % 250, t)  # ids 0..49 are added twice: the second wins
    bulk = Gallery(initial_capacity=4)
    bulk.add_many((i % 250, t) for i, t in enumerate(templates))
    assert len(bulk) == len(one_by_one) == 250
    for template_id in (0, 49, 50, 249):
        assert np.array_equal(bulk.matrix[bulk._row_of[template_id]],
                              one_by_one.matrix[one_by_one._row_of[template_id]])
    assert np.allclose(np.linalg.norm(bulk.matrix, axis=1), 1.0, atol=1e-6)
    bulk.add_matrix(["x", "y"], templates[:2])
    assert len(bulk) == 252 and bulk.search(templates[1], k=1)[0].template_id in {"y", 1}


@pytest.mark.parametrize("bad", [np.zeros(DIM), np.full(DIM, np.inf), np.full(DIM, np.nan)])
def test_bulk_load_refuses_a_bad_template_before_adding_any(bad):
    gallery = Gallery()
    with pytest.raises(ValueError):
        gallery.add_matrix(["ok", "bad"], np.stack([np.ones(DIM), bad]))
    with pytest.raises(ValueError):
        gallery.add_many([("ok", np.ones(DIM)), ("short", np.ones(DIM - 1))])
    assert len(gallery) == 0
