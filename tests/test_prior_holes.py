"""The prior-hole map (issue 14, part 2): closed-form density ratios, a ring-shaped aggregate posterior with a
hole in the middle of its Gaussian prior, off-manifold distances in data spacings, and a trained run."""
import math

import numpy as np
import pytest

from vdae_core.foundation.errors import UserInputError
from vdae_core.metrics.prior_holes import (data_spacing, knn_k, log10_density_ratio, prior_holes,
                                           spacings_from)


def circle(n, rng, r=1.0):
    t = rng.uniform(0, 2 * np.pi, n)
    return np.c_[r * np.cos(t), r * np.sin(t), np.zeros(n)]


def test_bandwidth_rule():
    assert knn_k(2000, 2000) == 13 and knn_k(100_000, 90_000) == 30 and knn_k(16, 2000) == 5 and knn_k(3, 3) == 2


def test_density_ratio_of_two_uniform_squares_is_four_inside_and_zero_outside():
    """q uniform on [0, 1]², p uniform on [0, 2]²: q/p = 4 on the unit square (log10 0.60) and 0 outside it.
    Inside (away from the edges) the median estimate is within 0.1 decades of 0.60; in [1.3, 2]² every prior
    code is in a hole (ratio < 0.1)."""
    rng = np.random.default_rng(0)
    Zq, Zp = rng.uniform(0, 1, (4000, 2)), rng.uniform(0, 2, (4000, 2))
    est = log10_density_ratio(Zq, Zp, dim=2)
    inside = (Zp > 0.2).all(1) & (Zp < 0.8).all(1)
    outside = (Zp > 1.3).all(1)
    assert abs(np.median(est[inside]) - np.log10(4)) < 0.1
    assert (est[outside] < -1).all()


def test_density_ratio_of_two_gaussians_follows_the_closed_form():
    """q = N(0, σ²I₂), p = N(0, I₂): log10 q/p(z) = −2 log10 σ − |z|²(1/σ² − 1)/(2 ln 10). Where the ratio is
    within a decade of 1 the estimate is within 0.2 decades at the median; over two decades its rank correlation
    with the truth is above 0.85; it errs towards no hole (the estimate is above the truth in the tail)."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    sigma = 0.6
    Zq = sigma * rng.standard_normal((4000, 2))
    Zp = rng.standard_normal((4000, 2))
    est = log10_density_ratio(Zq, Zp, dim=2)
    r2 = (Zp ** 2).sum(1)
    true = -2 * np.log10(sigma) - r2 * (1 / sigma ** 2 - 1) / (2 * math.log(10))
    near = np.abs(true) < 1
    assert np.median(np.abs(est[near] - true[near])) < 0.2
    assert spearmanr(est[np.abs(true) < 2], true[np.abs(true) < 2])[0] > 0.85
    tail = (true > -2) & (true < -1)
    assert 0 < np.median(est[tail] - true[tail]) < 0.7
    # Equal laws: the ratio is 1 (log 0) at the median, and almost no code is in a hole.
    same = log10_density_ratio(rng.standard_normal((4000, 2)), Zp, dim=2)
    assert abs(np.median(same)) < 0.1 and np.mean(same < -1) < 0.01


def test_a_ring_posterior_leaves_the_middle_of_the_gaussian_prior_a_hole():
    """Codes on a ring of radius 2 (a β-VAE's circle) against N(0, I₂): prior codes within radius 1 have no
    data behind them (> 95% in a hole); the floor (a second prior draw as q) has < 1% in holes."""
    rng = np.random.default_rng(1)
    t = rng.uniform(0, 2 * np.pi, 2000)
    Zq = np.c_[2 * np.cos(t), 2 * np.sin(t)] + 0.05 * rng.standard_normal((2000, 2))
    Zp = rng.standard_normal((2000, 2))
    # A decoder that is right on the ring and leaves the circle (radius 1 in the data) elsewhere: a code at
    # radius ρ decodes to radius ρ/2.
    rho = np.linalg.norm(Zp, axis=1)
    Xdec = np.c_[Zp / 2, np.zeros(len(Zp))]
    R = circle(2000, rng)
    floors = [circle(2000, rng) for _ in range(3)]
    null = [rng.standard_normal((2000, 2)) for _ in range(3)]
    r = prior_holes(Zq, Zp, null, Xdec, R, floors, dim=2)
    assert r.in_hole[rho < 1].mean() > 0.95 and r.in_hole[np.abs(rho - 2) < 0.2].mean() < 0.05
    s = r.summary()
    assert s["hole_share_floor"][0] < 0.01 and s["hole_share"] > 0.3
    assert s["off_share_floor"][0] < 0.02
    # Codes in the hole decode inside the circle, off the data; on the ring, on it.
    assert s["off_share_in_holes"] > 0.9 and r.off_manifold[np.abs(rho - 2) < 0.01].mean() < 0.05


def test_off_manifold_distance_in_data_spacings():
    """Points of the circle itself are within a spacing; points pushed radially by 3 spacings are 3 away."""
    rng = np.random.default_rng(2)
    R = circle(3000, rng)
    s = data_spacing(R)
    assert 0.005 < s < 0.03  # the 10th neighbour of 3,000 points on a circle: about 10/3000 of 2π, halved
    on = circle(1000, rng)
    assert np.mean(spacings_from(on, R, s) > 1) < 0.01
    off = on * (1 + 3 * s)
    np.testing.assert_allclose(spacings_from(off, R, s), 3.0, atol=0.6)


def test_bad_codes_give_a_clear_message():
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((50, 2))
    with pytest.raises(UserInputError, match="NaN"):
        log10_density_ratio(np.r_[Z, [[np.nan, 0]]], Z, dim=2)
    with pytest.raises(UserInputError, match="coordinates"):
        log10_density_ratio(Z, rng.standard_normal((50, 3)), dim=2)
    with pytest.raises(UserInputError, match="diverged"):
        spacings_from(np.full((4, 3), np.inf), circle(50, rng), 0.1)


def test_a_model_without_an_encoder_is_refused_by_name():
    from vdae_core.api import DataConfig, MODELS
    from vdae_core.pipeline.train import finish, start
    from vdae_core.study.topology import prior_hole_report

    cfg = {**MODELS.get("wgan_gp").config_class.quick_preset(0.01), "device": "cpu"}
    tr = start("wgan_gp", DataConfig(dataset="circle", n=200, seed=0), cfg, seed=0)
    tr.run()
    with pytest.raises(UserInputError, match="WGAN-GP has no encoder"):
        prior_hole_report(finish(tr))


@pytest.mark.slow
def test_a_two_d_beta_vae_decodes_its_holes_off_the_circle_and_vdae_does_not():
    """Trained runs (the quick presets, seed 0, 2,000 points): the β-VAE with a 2-D Gaussian latent lays the circle
    on a ring, so more than 10% of its prior codes are in a hole (floor < 1%), more than 80% of those decode
    beyond one spacing of the circle, and farther than its other codes (median). VDAE's walk codes leave ψ(X)
    too (its step has components across the code curve), but its decoder projects them back: its off-manifold
    share is within 1% of the floor, in holes or not (measured: β-VAE 39% in holes, 100% of them off; VDAE 45%
    and 0%)."""
    from vdae_core.api import DataConfig, MODELS
    from vdae_core.pipeline.train import finish, start
    from vdae_core.study.topology import prior_hole_report

    out = {}
    for name, extra in (("beta_vae", {"latent_dim": 2}), ("vdae", {})):
        cfg = {**MODELS.get(name).config_class.quick_preset(), "device": "cpu", **extra}
        tr = start(name, DataConfig(dataset="circle", n=2000, seed=0), cfg, seed=0)
        tr.run()
        out[name] = prior_hole_report(finish(tr))[0]
    vae, vdae = out["beta_vae"], out["vdae"]
    assert vae["hole_share"] > 0.1 and vae["hole_share_floor"][0] < 0.01 and vae["off_share_in_holes"] > 0.8
    assert vae["median_off_in_holes"] > vae["median_off_elsewhere"]
    assert vdae["off_share"] <= vdae["off_share_floor"][0] + 0.01
    assert vdae["off_share_in_holes"] is None or vdae["off_share_in_holes"] < 0.05
