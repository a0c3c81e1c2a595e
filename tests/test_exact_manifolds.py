"""Closed-form distances to the true manifolds, checked against displacements of known length and
against brute-force distances to a dense sample of each manifold."""
import numpy as np
import pytest

from vdae_core.api import DataConfig, make_dataset
from vdae_core.study.diagnostics import walk_report
from vdae_core.geometry.exact_manifolds import ExactManifold


@pytest.mark.parametrize("name", ["circle", "sphere", "torus", "flat_torus"])
def test_data_lie_on_their_manifold(name):
    ds = make_dataset(DataConfig(dataset=name, n=400, seed=3))
    assert ds.manifold is not None
    assert ds.manifold.distance(ds.X).max() < 1e-6


def test_normal_displacements_have_their_length():
    rng = np.random.default_rng(0)
    e = rng.uniform(-0.3, 0.3, 200)
    th, ph = rng.uniform(0, 2 * np.pi, (2, 200))
    # Sphere: radial displacement.
    u = rng.standard_normal((200, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    np.testing.assert_allclose(ExactManifold("sphere", {"radius": 1.0}).distance((1 + e)[:, None] * u), np.abs(e),
                               atol=1e-12)
    # Torus of revolution: move along the tube's outward normal.
    R, r = 2.0, 0.7
    n = np.stack([np.cos(ph) * np.cos(th), np.cos(ph) * np.sin(th), np.sin(ph)], 1)
    P = np.stack([R * np.cos(th), R * np.sin(th), np.zeros(200)], 1) + r * n
    np.testing.assert_allclose(ExactManifold("torus", {"R": R, "r": r}).distance(P + e[:, None] * n), np.abs(e),
                               atol=1e-12)
    # Flat torus: stretch the two circles by a and b, distance sqrt(a² + b²).
    a, b = e, rng.uniform(-0.3, 0.3, 200)
    Q = np.stack([(1 + a) * np.cos(th), (1 + a) * np.sin(th), (1 + b) * np.cos(ph), (1 + b) * np.sin(ph)], 1)
    np.testing.assert_allclose(ExactManifold("flat_torus").distance(Q), np.hypot(a, b), atol=1e-12)


def test_circle_distance_matches_a_dense_sample_of_the_rotated_circle():
    ds = make_dataset(DataConfig(dataset="circle", n=50))
    t = np.linspace(0, 2 * np.pi, 200_000, endpoint=False)
    Rm = np.asarray(ds.manifold.params["rotation"])
    dense = np.stack([np.cos(t), np.sin(t), np.zeros_like(t)], 1) @ Rm.T
    rng = np.random.default_rng(1)
    P = rng.uniform(-1.5, 1.5, (30, 3))
    brute = np.sqrt(((P[:, None, :] - dense[None]) ** 2).sum(-1)).min(1)
    # The dense sample's spacing is 3.1e-5, so it overestimates by at most (3.1e-5)² / 2 per unit distance.
    np.testing.assert_allclose(ds.manifold.distance(P), brute, atol=1e-8)


def test_torus_distance_matches_a_dense_sample():
    m = ExactManifold("torus", {"R": 2.0, "r": 0.7})
    th, ph = np.meshgrid(np.linspace(0, 2 * np.pi, 1500, endpoint=False), np.linspace(0, 2 * np.pi, 600, endpoint=False))
    th, ph = th.ravel(), ph.ravel()
    dense = np.stack([(2 + 0.7 * np.cos(ph)) * np.cos(th), (2 + 0.7 * np.cos(ph)) * np.sin(th), 0.7 * np.sin(ph)], 1)
    P = np.random.default_rng(2).uniform(-3, 3, (20, 3))
    brute = np.array([np.sqrt(((dense - p) ** 2).sum(1)).min() for p in P])
    # Grid cells are at most 2π·2.7/1500 x 2π·0.7/600 = 0.011 x 0.0073 wide: brute ≥ exact, within 0.007.
    d = m.distance(P)
    assert np.all(brute >= d - 1e-9) and np.all(brute - d < 7e-3)


def test_walk_report_gives_the_distance_to_the_true_manifold():
    ds = make_dataset(DataConfig(dataset="sphere", n=500))
    walk = np.stack([ds.X[:100], 1.1 * ds.X[:100]])
    rep = walk_report(ds, walk)
    assert rep[0]["median_manifold_dist"] < 1e-6
    assert abs(rep[1]["median_manifold_dist"] - 0.1) < 1e-6


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown manifold kind"):
        ExactManifold("klein_bottle")
