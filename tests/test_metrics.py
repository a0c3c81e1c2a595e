"""Tests of vdae_core.metrics: closed forms, invariances, degenerate input, evaluate_model."""
import json

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist, pdist

from vdae_core.foundation.errors import UserInputError
from vdae_core.metrics import (bilipschitz, bilipschitz_summary, continuity, evaluate_model,
                               evaluation_subset, gromov_wasserstein, mmd, trustworthiness)
from vdae_core.metrics.subsample import subsample_indices
from vdae_core.foundation.registry import METRICS


def rotation3(a=0.7, b=-0.4):
    ca, sa, cb, sb = np.cos(a), np.sin(a), np.cos(b), np.sin(b)
    rz = np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, cb, -sb], [0, sb, cb]])
    return rz @ rx


def grid(n=15):
    g = np.linspace(0.0, 1.0, n)
    return np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)


def naive_bilipschitz(z, x, k):
    """Per-point loop reference: full distances, k nearest excluding the point itself."""
    out = np.empty(len(z))
    for i in range(len(z)):
        dz = np.linalg.norm(z - z[i], axis=1)
        dz[i] = np.inf
        nn = np.argsort(dz)[:k]
        r = np.linalg.norm(x[nn] - x[i], axis=1) / dz[nn]
        out[i] = np.max(np.maximum(r, 1 / r))
    return out


# ---------------------------------------------------------------------------------- registry

def test_all_metrics_registered():
    for name in ("bilipschitz", "gromov_wasserstein", "mmd", "trustworthiness", "continuity"):
        assert name in METRICS
    assert METRICS.get("bilipschitz") is bilipschitz


# ----------------------------------------------------------------------------- bi-Lipschitz

def test_bilipschitz_identity_is_one():
    z = np.random.default_rng(0).normal(size=(200, 3))
    np.testing.assert_allclose(bilipschitz(z, z.copy(), k=10), 1.0, atol=1e-12)


def test_bilipschitz_isometry_into_higher_dimension_is_one():
    z = np.random.default_rng(1).normal(size=(150, 2))
    x = np.c_[z, np.zeros(len(z))] @ rotation3().T + 5.0
    np.testing.assert_allclose(bilipschitz(z, x, k=8), 1.0, atol=1e-9)


@pytest.mark.parametrize("s", [3.0, 0.25])
def test_bilipschitz_uniform_scaling(s):
    z = np.random.default_rng(2).normal(size=(200, 2))
    np.testing.assert_allclose(bilipschitz(z, s * z, k=10), max(s, 1 / s), rtol=1e-12)
    np.testing.assert_allclose(bilipschitz(z, s * z, k=10, scale_free=True), 1.0, rtol=1e-12)


def test_bilipschitz_anisotropic_scaling_reaches_closed_form():
    a, b = 2.0, 0.25
    z = grid(15)
    v = bilipschitz(z, z * [a, b], k=10)
    bound = max(a, 1 / b)  # = 4: the grid neighbours along the second axis shrink by b
    assert np.all(v >= 1.0) and np.all(v <= bound + 1e-12)
    assert np.isclose(v, bound).sum() > len(z) // 2


def test_bilipschitz_matches_naive_loop():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(150, 2))
    x = np.c_[np.sin(2 * z[:, 0]), z[:, 1] ** 2, z[:, 0] * z[:, 1]]
    np.testing.assert_allclose(bilipschitz(z, x, k=7), naive_bilipschitz(z, x, 7), rtol=1e-12)


def test_bilipschitz_fold_is_large_only_near_the_fold():
    n = 200
    h = 2.0 / n
    t = -1.0 + (np.arange(n) + 0.3) * h  # off-centre grid: no t and -t both present
    z = t[:, None]
    x = np.c_[np.abs(t), np.zeros(n)]  # fold at t = 0, embedded in R^2
    v = bilipschitz(z, x, k=10)
    assert np.all(np.isfinite(v))
    far = np.abs(t) > 15 * h  # beyond the reach of 10 neighbours across the fold
    np.testing.assert_allclose(v[far], 1.0, atol=1e-9)
    assert v[np.abs(t) < 2 * h].min() > 2.0
    assert v.max() > 5.0 and np.abs(t[np.argmax(v)]) < 3 * h


def test_bilipschitz_pairing_matters():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(300, 2))
    c, s = np.cos(0.8), np.sin(0.8)
    x = z @ np.array([[c, -s], [s, c]]).T
    np.testing.assert_allclose(bilipschitz(z, x), 1.0, atol=1e-9)
    shuffled = bilipschitz(z, x[rng.permutation(len(x))])
    assert np.median(shuffled) > 5.0


def test_bilipschitz_duplicate_latents_are_excluded():
    rng = np.random.default_rng(5)
    z0 = rng.normal(size=(100, 2))
    z = np.vstack([z0, z0[:5]])  # 5 exact duplicates
    v = bilipschitz(z, 2.0 * z, k=6)
    np.testing.assert_allclose(v, 2.0, rtol=1e-12)


def test_bilipschitz_point_with_only_duplicate_neighbours_raises():
    rng = np.random.default_rng(6)
    z = np.vstack([np.zeros((12, 2)), rng.normal(size=(20, 2)) + 3])
    with pytest.raises(ValueError, match="duplicates"):
        bilipschitz(z, z, k=10)


def test_bilipschitz_collapse_gives_inf_where_the_map_is_not_injective():
    t = np.linspace(0, 1, 50)[:, None]
    x = t.copy()
    x[1] = x[0]  # two distinct latents decoded onto one point
    v = bilipschitz(t, x, k=3)
    assert np.isinf(v[[0, 1]]).all()
    assert np.isfinite(v[5:]).all()
    s = bilipschitz_summary(v)
    assert s["max"] == np.inf and np.isfinite(s["median"])


def test_bilipschitz_summary_values():
    s = bilipschitz_summary(np.array([1.0, 2.0, 3.0, 4.0]))
    assert s == pytest.approx({"median": 2.5, "mean": 2.5, "max": 4.0, "p95": 3.85})
    with pytest.raises(ValueError):
        bilipschitz_summary(np.array([1.0, np.nan]))
    with pytest.raises(ValueError):
        bilipschitz_summary(np.ones((2, 2)))


@pytest.mark.parametrize("make", [
    lambda z: (np.ones((20, 2)), np.random.default_rng(0).normal(size=(20, 3))),  # all identical
    lambda z: (z[:10], z[:10]),  # 10 points < k + 1
    lambda z: (z, np.where(np.arange(30)[:, None] == 3, np.nan, z)),  # NaN
    lambda z: (np.where(np.arange(30)[:, None] == 3, np.inf, z), z),  # inf
    lambda z: (z, z[:-1]),  # mismatched lengths
    lambda z: (z[:, 0], z),  # 1-D
    lambda z: (z[:, :, None], z),  # 3-D
])
def test_bilipschitz_degenerate_input_raises(make):
    z = np.random.default_rng(7).normal(size=(30, 2))
    zz, xx = make(z)
    with pytest.raises(ValueError):
        bilipschitz(zz, xx, k=10)


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_bilipschitz_bad_k_raises(k):
    z = np.random.default_rng(8).normal(size=(30, 2))
    with pytest.raises(ValueError, match="k"):
        bilipschitz(z, z, k=k)


def test_errors_are_user_input_errors():
    with pytest.raises(UserInputError, match="identical"):
        bilipschitz(np.ones((20, 2)), np.ones((20, 2)))


# ------------------------------------------------------------------------ Gromov-Wasserstein

def test_gw_rigid_motion_and_shuffle_is_zero():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(150, 3)) * [1.0, 2.0, 0.5]
    y = (x @ rotation3().T + [3.0, -1.0, 7.0])[rng.permutation(150)]
    r = gromov_wasserstein(x, y)
    assert r["value"] < 1e-3
    assert r == {"value": r["value"], "n_x": 150, "n_y": 150, "subsampled": False}


def test_gw_is_scale_and_dimension_invariant():
    t = np.random.default_rng(11).uniform(0, 2 * np.pi, 120)
    circle2 = np.c_[np.cos(t), np.sin(t)]
    circle3 = 4.0 * np.c_[circle2, np.zeros(120)] @ rotation3().T
    assert gromov_wasserstein(circle2, circle3)["value"] < 1e-3


def test_gw_circle_vs_segment_is_clearly_positive():
    n = 150
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    circle = np.c_[np.cos(t), np.sin(t)]
    segment = np.c_[np.linspace(0, 1, n), np.zeros(n)]
    # ~0.15 measured; a threshold of 0.05 is 50x the tolerance used for "equal" above.
    assert gromov_wasserstein(circle, segment)["value"] > 0.05


def test_gw_is_pot_on_normalised_distances_with_uniform_weights():
    import ot
    from scipy.spatial.distance import cdist, pdist
    rng = np.random.default_rng(13)
    x, y = rng.normal(size=(120, 3)), rng.uniform(size=(90, 2))
    cx, cy = cdist(x, x), cdist(y, y)
    ref = ot.gromov.gromov_wasserstein2(cx / cx.max(), cy / cy.max(), ot.unif(120), ot.unif(90), loss_fun="square_loss")
    got = gromov_wasserstein(x, y, scale="max")["value"]
    assert got > 1e-3
    assert got == pytest.approx(ref, rel=1e-6)
    # the robust unit: the 99th percentile of the pairwise distances, larger ones clipped to 1
    qx, qy = np.quantile(pdist(x), 0.99), np.quantile(pdist(y), 0.99)
    ref = ot.gromov.gromov_wasserstein2(np.minimum(cx / qx, 1), np.minimum(cy / qy, 1), ot.unif(120), ot.unif(90),
                                        loss_fun="square_loss")
    robust = gromov_wasserstein(x, y)["value"]
    assert robust == pytest.approx(ref, rel=1e-6) and robust != pytest.approx(got, rel=1e-3)
    # Either unit makes a uniform rescaling invisible.
    assert gromov_wasserstein(3.0 * x, y)["value"] == pytest.approx(robust, rel=1e-6)
    assert gromov_wasserstein(3.0 * x, y, scale="max")["value"] == pytest.approx(got, rel=1e-6)


def test_gw_subsampling_reported_and_seeded():
    rng = np.random.default_rng(12)
    x, y = rng.normal(size=(300, 2)), rng.normal(size=(50, 2))
    r = gromov_wasserstein(x, y, max_points=100, seed=3)
    assert (r["n_x"], r["n_y"], r["subsampled"]) == (100, 50, True)
    assert gromov_wasserstein(x, y, max_points=100, seed=3)["value"] == r["value"]
    assert gromov_wasserstein(x, y, max_points=100, seed=4)["value"] != r["value"]
    assert not gromov_wasserstein(x[:60], y, max_points=100)["subsampled"]


@pytest.mark.parametrize("x, y", [
    (np.ones((10, 2)), np.random.default_rng(0).normal(size=(10, 2))),
    (np.zeros((1, 2)), np.random.default_rng(0).normal(size=(10, 2))),
    (np.full((10, 2), np.nan), np.random.default_rng(0).normal(size=(10, 2))),
    (np.arange(10.0), np.random.default_rng(0).normal(size=(10, 2))),
])
def test_gw_degenerate_input_raises(x, y):
    with pytest.raises(ValueError):
        gromov_wasserstein(x, y)


# ------------------------------------------------------------------------------------- MMD

def test_mmd_of_a_sample_with_itself_is_exactly_zero():
    x = np.random.default_rng(20).normal(size=(1500, 3))  # > one row block
    assert mmd(x, x.copy())["mmd2"] == 0.0


def test_mmd_matches_direct_formula():
    rng = np.random.default_rng(21)
    x, y, h = rng.normal(size=(20, 2)), rng.normal(size=(15, 2)) + 0.5, 0.7

    def kmean(a, b):
        return np.exp(-cdist(a, b, "sqeuclidean") / (2 * h * h)).mean()

    expected = kmean(x, x) + kmean(y, y) - 2 * kmean(x, y)
    assert mmd(x, y, bandwidth=h)["mmd2"] == pytest.approx(expected, rel=1e-10)


def test_mmd_grows_with_shift():
    rng = np.random.default_rng(22)
    x, y = rng.normal(size=(300, 2)), rng.normal(size=(300, 2))
    shifts = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]
    fixed = [mmd(x, y + [s, 0.0], bandwidth=1.0)["mmd2"] for s in shifts]
    assert np.all(np.diff(fixed) > 0)
    median = [mmd(x, y + [s, 0.0])["mmd2"] for s in shifts]
    assert np.all(np.diff(median) > 0)


def test_mmd_bandwidth_is_reported():
    rng = np.random.default_rng(23)
    x, y = rng.normal(size=(40, 2)), rng.normal(size=(30, 2))
    r = mmd(x, y)
    assert r["bandwidth"] == pytest.approx(np.median(pdist(np.vstack([x, y]))))
    assert "median" in r["bandwidth_rule"]
    r = mmd(x, y, bandwidth=2.0)
    assert r["bandwidth"] == 2.0 and r["bandwidth_rule"] == "given"


@pytest.mark.parametrize("x, y, bw", [
    (np.zeros((5, 2)), np.zeros((5, 3)), None),  # dimension mismatch
    (np.zeros((5, 2)), np.zeros((5, 2)), None),  # all identical: median heuristic 0
    (np.full((5, 2), np.inf), np.zeros((5, 2)), 1.0),
    (np.ones((5, 2)), np.zeros((5, 2)), 0.0),
    (np.ones((5, 2)), np.zeros((5, 2)), -1.0),
    (np.ones(5), np.zeros(5), 1.0),
])
def test_mmd_degenerate_input_raises(x, y, bw):
    with pytest.raises(ValueError):
        mmd(x, y, bandwidth=bw)


# ------------------------------------------------------------------ trustworthiness/continuity

def test_isometry_is_trustworthy_and_continuous():
    x = np.random.default_rng(30).normal(size=(200, 3))
    z = x @ rotation3().T
    assert trustworthiness(x, z, k=10) == 1.0
    assert continuity(x, z, k=10) == 1.0
    rng = np.random.default_rng(31)
    assert trustworthiness(x, z[rng.permutation(200)], k=10) < 0.8


def test_continuity_is_trustworthiness_with_roles_swapped():
    # Cutting a circle open at angle 0: latent neighbours are still data neighbours (trustworthy)
    # but data neighbours across the cut end far apart in the latent (not continuous).
    theta = np.sort(np.random.default_rng(32).uniform(0, 2 * np.pi, 100))
    x = np.c_[np.cos(theta), np.sin(theta)]
    z = theta[:, None]
    assert trustworthiness(x, z, k=10) > 0.99  # 0.997 measured
    assert continuity(x, z, k=10) < 0.98  # 0.964 measured


@pytest.mark.parametrize("fn", [trustworthiness, continuity])
def test_trustworthiness_degenerate_input_raises(fn):
    x = np.random.default_rng(33).normal(size=(30, 2))
    with pytest.raises(ValueError):
        fn(x, x[:-1])
    with pytest.raises(ValueError, match="half"):
        fn(x, x, k=15)
    with pytest.raises(ValueError):
        fn(np.ones((30, 2)), x)
    with pytest.raises(ValueError):
        fn(x, np.where(x > 1, np.nan, x))


# ---------------------------------------------------------------------------- evaluate_model

class FakeModel:
    """encode = an isometry Q, decode = s * Q^-1 (so decode(encode(x)) = s x, on purpose: the
    decoder's bi-Lipschitz constant s differs from that of encode's inverse, 1); sample draws
    from the data distribution."""

    def __init__(self, s=2.0, shift=0.0):
        self.q, self.s, self.shift = rotation3(), s, shift
        self.scale = np.array([1.0, 0.5, 0.25])
        self.seen_seeds = []

    def encode(self, x):
        return x @ self.q.T

    def decode(self, z):
        return self.s * z @ self.q

    def sample(self, n, generator):
        self.seen_seeds.append(generator.initial_seed())
        return torch.randn(n, 3, generator=generator, dtype=torch.float64).numpy() * self.scale + self.shift


def data(n=600):
    return np.random.default_rng(40).normal(size=(n, 3)) * FakeModel().scale


def test_evaluate_model_closed_form_and_keys():
    model, X = FakeModel(s=2.0), data()
    summary, per_point = evaluate_model(model, X, seed=3, n_samples=300, k=10)
    assert set(summary) == {"gw", "gw_subsampled", "mmd2", "mmd_bandwidth", "bilip_median", "bilip_mean",
                            "bilip_scale_free_median", "bilip_scale_free_mean", "trustworthiness",
                            "continuity", "n_samples", "k", "seed"}
    assert per_point.shape == (300,)
    # decode = s * (isometry): every latent distance is multiplied by s = 2
    np.testing.assert_allclose(per_point, 2.0, rtol=1e-9)
    assert summary["bilip_median"] == pytest.approx(2.0) and summary["bilip_mean"] == pytest.approx(2.0)
    assert summary["bilip_scale_free_median"] == pytest.approx(1.0)
    assert summary["trustworthiness"] == pytest.approx(1.0) and summary["continuity"] == pytest.approx(1.0)
    assert summary["mmd2"] < 0.01 and summary["gw"] < 0.01
    assert (summary["n_samples"], summary["k"], summary["seed"]) == (300, 10, 3)
    assert model.seen_seeds == [3]
    json.dumps(summary, allow_nan=False)
    assert all(type(v) in (int, float, bool) for v in summary.values())


def test_evaluate_model_detects_a_wrong_sampler_and_is_reproducible():
    X = data()
    good, _ = evaluate_model(FakeModel(), X, seed=1, n_samples=300)
    bad, _ = evaluate_model(FakeModel(shift=1.5), X, seed=1, n_samples=300)
    assert bad["mmd2"] > 10 * good["mmd2"]
    again, _ = evaluate_model(FakeModel(), X, seed=1, n_samples=300)
    assert again == good


def test_evaluate_model_subset_indices():
    X = data()
    summary, per_point, idx = evaluate_model(FakeModel(), X, seed=5, n_samples=200, return_indices=True)
    np.testing.assert_array_equal(idx, evaluation_subset(len(X), 200, 5))
    assert len(np.unique(idx)) == 200 and per_point.shape == (200,)
    _, _, idx_all = evaluate_model(FakeModel(), X[:100], seed=5, n_samples=200, return_indices=True)
    np.testing.assert_array_equal(idx_all, np.arange(100))


def test_evaluate_model_rejects_bad_model_output():
    class NaNSampler(FakeModel):
        def sample(self, n, generator):
            return np.full((n, 3), np.nan)

    with pytest.raises(ValueError, match="sample"):
        evaluate_model(NaNSampler(), data(), n_samples=100)


def test_subsample_indices():
    np.testing.assert_array_equal(subsample_indices(5, 10, 0), np.arange(5))
    a = subsample_indices(100, 10, 1)
    assert len(np.unique(a)) == 10 and np.all(np.diff(a) > 0)
    np.testing.assert_array_equal(a, subsample_indices(100, 10, 1))
