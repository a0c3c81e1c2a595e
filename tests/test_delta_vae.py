"""ΔVAE (Pérez Rey et al. 2019): every latent manifold trains, codes lie on it, the random-walk posterior
spreads like sqrt(t), the KL term is the closed-form asymptotic one, the t-head learns, RP^d decoders are
even. The quality bars (circle, tori, sphere) are marked slow: ``python -m pytest -m slow tests/test_delta_vae.py``.
"""
import math
import time

import numpy as np
import pytest
import torch

from vdae_core.api import DataConfig, make_dataset, train_run
from vdae_core.foundation.errors import UserInputError
from vdae_core.training.phases import TrainData
from vdae_core.models.delta_vae import DeltaVAE, DeltaVAEConfig
from vdae_core.pipeline.build import build_model

CIRCLE = DataConfig(dataset="circle", n=240, seed=0)
SMALL = dict(hidden=32, device="cpu")  # fast networks for the contract-style checks below

# (latent_manifold, latent_manifold_dim, intrinsic d): every choice, the circle and RP³ besides the defaults.
SPACES = [("sphere", 2, 2), ("sphere", 1, 1), ("flat_torus", 2, 2), ("torus", 2, 2), ("so3", 2, 3),
          ("projective", 2, 2), ("projective", 3, 3)]
IDS = [f"{k}{d}" for k, d, _ in SPACES]


def model_for(kind, dim, **over):
    ds = make_dataset(CIRCLE)
    m = build_model("delta_vae", {**SMALL, "latent_manifold": kind, "latent_manifold_dim": dim, **over}, ds, seed=0)
    m.prepare(ds.X)
    return m, torch.as_tensor(ds.X, dtype=torch.float32)


def closed_form_kl(kind, dim, z, t):
    """−(d/2) log(2πt) − d/2 + log Vol + Sc t / 4, volumes and curvatures written out independently."""
    if kind in ("sphere", "projective"):
        d = dim
        log_vol = math.log(2 * math.pi ** ((d + 1) / 2) / math.gamma((d + 1) / 2))
        log_vol -= math.log(2.0) if kind == "projective" else 0.0
        sc = torch.full_like(t, d * (d - 1))
    elif kind == "flat_torus":
        d, log_vol, sc = 2, math.log(4 * math.pi ** 2), torch.zeros_like(t)
    elif kind == "torus":
        R, r = 2.0, 0.7
        d, log_vol = 2, math.log(4 * math.pi ** 2 * R * r)
        cos_phi = (torch.hypot(z[:, 0], z[:, 1]) - R) / r
        sc = 2 * cos_phi / (r * (R + r * cos_phi))
    else:  # SO(3), Frobenius metric: Vol = 16√2 π², Sc = 3/4
        d, log_vol, sc = 3, math.log(16 * math.sqrt(2) * math.pi ** 2), torch.full_like(t, 0.75)
    return -0.5 * d * torch.log(2 * math.pi * t) - 0.5 * d + log_vol + 0.25 * sc * t


@pytest.mark.parametrize("kind,dim,d", SPACES, ids=IDS)
def test_every_latent_manifold_trains_and_its_codes_lie_on_it(kind, dim, d):
    # Two short restarts: the restart choice has its own tests; here every manifold must train and encode onto itself.
    over = {**SMALL, "latent_manifold": kind, "latent_manifold_dim": dim, "steps": 20, "batch_size": 64,
            "restarts": 2, "restart_steps": 10}
    run = train_run("delta_vae", CIRCLE, over, seed=0, device="cpu")
    recs = [r for rs in run.history.records.values() for r in rs]
    assert len(recs) >= 2 and all(np.isfinite(v) for r in recs for v in r.values())
    model = run.model
    assert model.latent_space.dim == d
    z = model.encode(run.dataset.X)
    assert z.shape == (240, *model.latent_space.shape)
    assert bool(model.latent_space.belongs(torch.as_tensor(z, dtype=torch.float64), atol=1e-5).all())
    assert model.sample(7, torch.Generator().manual_seed(0)).shape == (7, 3)


def test_so3_codes_are_rotation_matrices():
    model, X = model_for("so3", 2)
    z = torch.as_tensor(model.encode(X.numpy()), dtype=torch.float64)
    assert z.shape == (240, 3, 3)
    err = (z.transpose(1, 2) @ z - torch.eye(3, dtype=torch.float64)).abs().amax()
    assert float(err) < 1e-5
    assert float((torch.linalg.det(z) - 1).abs().max()) < 1e-5
    # the posterior samples too (the walk projects back onto SO(3) at every step)
    zt = model.reparameterise(*model.posterior(X), torch.Generator().manual_seed(0)).detach().double()
    assert float((torch.linalg.det(zt) - 1).abs().max()) < 1e-5


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_projective_decoder_is_even_and_the_sphere_one_is_not(dim):
    model, _ = model_for("projective", dim)
    z = model.latent_space.random_uniform(100, torch.Generator().manual_seed(1)).numpy()
    np.testing.assert_array_equal(model.decode(z), model.decode(-z))
    sphere, _ = model_for("sphere", dim)
    assert np.abs(sphere.decode(z) - sphere.decode(-z)).max() > 1e-3


@pytest.mark.parametrize("kind,dim,d", [s for s in SPACES if s[0] != "torus"] + [("torus", 2, 2)],
                         ids=[i for i in IDS if i != "torus2"] + ["torus2"])
def test_posterior_spread_grows_like_sqrt_t(kind, dim, d):
    """E d(z, z̃)² ≈ d t for small t: the walk of §3.6 has variance t per tangent direction."""
    model, _ = model_for(kind, dim)
    space, n = model.latent_space, 4000
    z = space.random_uniform(n, torch.Generator().manual_seed(2), dtype=torch.float64)
    for t in (0.001, 0.01):
        zt = model.reparameterise(z, torch.full((n,), t, dtype=torch.float64), torch.Generator().manual_seed(3))
        if kind == "torus":  # local metric ρ² dθ² + r² dφ² (the exact distance is an ODE solve)
            a, b = space.angles(z), space.angles(zt)
            dth, dph = [torch.remainder(b[:, i] - a[:, i] + math.pi, 2 * math.pi) - math.pi for i in (0, 1)]
            rho = space.R + space.r * torch.cos(a[:, 1] + dph / 2)
            d2 = (rho * dth) ** 2 + (space.r * dph) ** 2
        else:
            d2 = space.geodesic_distance(z, zt) ** 2
        assert float(d2.mean()) == pytest.approx(d * t, rel=0.1), (t, float(d2.mean()) / (d * t))


@pytest.mark.parametrize("kind,dim,d", SPACES, ids=IDS)
def test_kl_term_is_the_asymptotic_heat_kernel_kl_of_the_encoders_t(kind, dim, d):
    model, X = model_for(kind, dim, beta=2.5)
    terms = {k: float(v.detach()) for k, v in model.loss(X[:64], torch.Generator().manual_seed(0)).items()}
    z, t = model.posterior(X[:64])
    expected = closed_form_kl(kind, dim, z.detach().double(), t.detach().double()).mean()
    assert terms["kl"] == pytest.approx(float(expected), rel=1e-5, abs=1e-5)
    assert terms["loss"] == pytest.approx(terms["recon"] + 2.5 * terms["kl"], rel=1e-6)
    assert terms["t"] == pytest.approx(float(t.detach().mean()), rel=1e-6)


def test_t_is_bounded_and_t_max_defaults_per_manifold():
    assert DeltaVAEConfig(latent_manifold="sphere").t_upper == 0.05
    assert DeltaVAEConfig(latent_manifold="projective", latent_manifold_dim=1).t_upper == 0.05
    assert DeltaVAEConfig(latent_manifold="sphere", latent_manifold_dim=1).t_upper == 0.5
    assert DeltaVAEConfig(latent_manifold="flat_torus").t_upper == 0.5
    assert DeltaVAEConfig(latent_manifold="so3").t_upper == 0.2
    assert DeltaVAEConfig(latent_manifold="so3", t_max=0.1).t_upper == 0.1
    model, X = model_for("so3", 2, t_min=0.01)
    with torch.no_grad():
        model.encoder[-1].bias[-1] = 50.0
        assert torch.allclose(model.posterior(X)[1], torch.tensor(0.2))
        model.encoder[-1].bias[-1] = -50.0
        assert torch.allclose(model.posterior(X)[1], torch.tensor(0.01))


def _exact_kl(kind, t):
    """KL(heat kernel ‖ uniform) from the spectral expansion (generator ½Δ), as a function of the angle θ.

    S²: density f(θ) = Σ (2l+1) e^{−l(l+1)t/2} P_l(cos θ), law of θ: sin θ / 2.
    SO(3), Frobenius metric (Δ has eigenvalues l(l+1)/2): f(θ) = Σ (2l+1) e^{−l(l+1)t/4} χ_l(θ),
    χ_l(θ) = sin((2l+1)θ/2) / sin(θ/2), law of the rotation angle: (1 − cos θ)/π.
    """
    from scipy.integrate import simpson
    from scipy.special import eval_legendre

    th = np.linspace(1e-9, np.pi, 4001)
    ls = np.arange(80)[:, None]  # the terms beyond are below 1e-30 at the t tested
    if kind == "flat_torus":  # two independent wrapped normals of variance t
        a = np.linspace(-np.pi, np.pi, 4001)
        q = np.exp(-(a[None, :] + 2 * np.pi * np.arange(-5, 6)[:, None]) ** 2 / (2 * t)).sum(0) / np.sqrt(2 * np.pi * t)
        return 2 * simpson(q * np.log(2 * np.pi * q), x=a)
    if kind == "sphere":
        f = ((2 * ls + 1) * np.exp(-ls * (ls + 1) * t / 2) * eval_legendre(ls, np.cos(th))).sum(0)
        w = np.sin(th) / 2
    else:
        f = ((2 * ls + 1) * np.exp(-ls * (ls + 1) * t / 4) * np.sin((2 * ls + 1) * th / 2)).sum(0) / np.sin(th / 2)
        w = (1 - np.cos(th)) / np.pi
    return simpson(f * np.log(np.maximum(f, 1e-300)) * w, x=th)


@pytest.mark.parametrize("kind,tol", [("sphere", 1e-4), ("so3", 1e-4), ("flat_torus", 1e-4)])
def test_t_max_keeps_the_asymptotic_kl_accurate(kind, tol):
    """At the default t_max (0.05 on S², 0.2 on SO(3), 0.5 on the flat torus) the §3.7 formula is within 1e-4
    of the exact KL; with the paper's coefficient (d + 4)/24 SO(3) would be off by 6e-3."""
    model, _ = model_for(kind, 2)
    z = model.latent_space.random_uniform(1, torch.Generator().manual_seed(0), dtype=torch.float64)
    t = model.t_max
    exact = _exact_kl(kind, t)
    assert abs(float(model.kl(z, torch.tensor([t], dtype=torch.float64))[0]) - exact) < tol
    if kind == "so3":
        paper = model.latent_space.heat_kernel_kl(torch.tensor([t], dtype=torch.float64), x=z, coefficient="paper")
        assert abs(float(paper[0]) - exact) > 5e-3


@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_gradients_reach_the_t_head(beta):
    """With β = 0 the only path to t is the random walk (the reparameterisation is differentiable in t)."""
    model, X = model_for("sphere", 2, beta=beta)
    model.loss(X[:64], torch.Generator().manual_seed(0))["loss"].backward()
    last = model.encoder[-1]
    assert float(last.weight.grad[-1].abs().sum()) > 0 and float(last.bias.grad[-1].abs()) > 0
    assert float(last.weight.grad[:-1].abs().sum()) > 0  # and the location head


def test_config_is_checked_and_walk_steps_is_no_training_length():
    with pytest.raises(UserInputError, match="latent_dim"):
        DeltaVAEConfig(latent_manifold="so3", latent_dim=3)
    assert DeltaVAEConfig(latent_manifold="so3", latent_dim=9).latent_manifold == "so3"
    with pytest.raises(UserInputError, match="t_min"):
        DeltaVAEConfig(t_min=0.06)
    with pytest.raises(UserInputError):
        DeltaVAEConfig(latent_manifold="euclidean")
    assert sorted(DeltaVAEConfig.training_length_fields()) == ["restart_steps", "steps"]  # in field order
    assert DeltaVAEConfig.quick_preset(0.5)["steps"] == 150 and DeltaVAEConfig.quick_preset(0.5)["restart_steps"] == 25
    assert DeltaVAE.make_latent_space(DeltaVAEConfig(latent_manifold="projective", latent_manifold_dim=3), 7).label \
        == "RP³"


def test_restart_steps_default_to_the_latent_manifolds_settling_time():
    """restart_steps = 0 takes the latent manifold's settle_steps (the flat torus: 300, where the torus of
    revolution's tube angle settles; elsewhere 100); an explicit value wins; scaling resolves it first."""
    from vdae_core.geometry.manifolds import MANIFOLDS

    assert MANIFOLDS.get("flat_torus").settle_steps == 300 and MANIFOLDS.get("sphere").settle_steps == 100
    assert DeltaVAEConfig(latent_manifold="flat_torus").restart_length == 300
    assert DeltaVAEConfig(latent_manifold="sphere").restart_length == 100
    assert DeltaVAEConfig(latent_manifold="flat_torus", restart_steps=7).restart_length == 7
    assert DeltaVAEConfig.scaled_steps({"latent_manifold": "flat_torus"}, 0.5)["restart_steps"] == 150
    model, _ = model_for("flat_torus", 2, restarts=2, steps=5, batch_size=32)
    assert model.phases()[0].steps == 2 * 300


def test_restarts_keep_the_initialisation_of_lowest_loss_and_leave_the_global_rng_alone():
    model, X = model_for("flat_torus", 2, restarts=3, restart_steps=4, steps=5, batch_size=32)
    phases = model.phases()
    assert [p.name for p in phases] == ["restarts", "delta_vae"] and [p.steps for p in phases] == [12, 5]
    restart = phases[0]
    data = TrainData(X, X.numpy(), torch.device("cpu"), torch.Generator().manual_seed(0))
    rng = torch.random.get_rng_state()
    restart.start(model, data)
    seen = []
    for i in range(restart.steps):
        terms = restart.step(model, data, i)
        seen.append(terms["candidate"])
    restart.end(model, data)
    assert seen == [0.0] * 4 + [1.0] * 4 + [2.0] * 4
    assert torch.equal(torch.random.get_rng_state(), rng)
    assert len(restart.scores) == 3 and len(set(restart.scores)) == 3
    assert restart.best == int(np.argmin(restart.scores))
    with torch.no_grad():  # the model now holds the winner: its score is reproduced exactly
        again = model.loss(X[restart.eval_idx], torch.Generator().manual_seed(restart.eval_seed))["loss"]
    assert float(again) == restart.scores[restart.best]
    assert [p.name for p in model_for("sphere", 2, restarts=1)[0].phases()] == ["delta_vae"]


def test_reinitialise_draws_from_its_seed_and_keeps_the_scaler():
    model, _ = model_for("flat_torus", 2)
    scale = model.x_scale.scale.clone()
    model.reinitialise(7)
    a = {k: v.clone() for k, v in model.state_dict().items()}
    model.reinitialise(8)
    assert not torch.equal(model.encoder[0].weight, a["encoder.0.weight"])
    assert not torch.equal(model.decoder[0].weight, a["decoder.0.weight"])
    model.reinitialise(7)
    assert all(torch.equal(v, a[k]) for k, v in model.state_dict().items())
    assert torch.equal(model.x_scale.scale, scale) and float(scale) != 1.0


# ------------------------------------------------------------------------------------------ quality bars
def _fit(dataset, n, seed, over):
    t0 = time.perf_counter()
    run = train_run("delta_vae", DataConfig(dataset=dataset, n=n, seed=seed), {**over, "device": "cpu"}, seed=seed,
                    device="cpu")
    return run, time.perf_counter() - t0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quality_circle_angle_recovered(seed):
    from vdae_core.metrics.circular import circular_correlation

    run, secs = _fit("circle", 2000, seed, {"latent_manifold": "sphere", "latent_manifold_dim": 1})
    ang = run.model.latent_coords(run.model.encode(run.dataset.X))[:, 0]
    rho = abs(circular_correlation(ang, run.dataset.params[:, 0]))
    print(f"circle seed {seed}: |rho| = {rho:.4f}, {secs:.1f} s")
    assert rho >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["flat_torus", "torus"])
def test_quality_torus_angles_recovered(dataset):
    """Both angles of the flat torus and of the torus of revolution (radii 2, 0.7: its circles differ 2.9× in
    length, which per-circle diffusion times absorb) recovered on a flat-torus latent."""
    from vdae_core.metrics.circular import torus_alignment

    run, secs = _fit(dataset, 3000, 0, {"latent_manifold": "flat_torus"})
    ang = run.model.latent_coords(run.model.encode(run.dataset.X))
    out = torus_alignment(run.dataset.params, ang)
    print(f"{dataset} seed 0: per angle {out['per_angle']}, {secs:.1f} s")
    assert out["min"] >= 0.9


@pytest.mark.slow
def test_quality_sphere_codes_cover_the_sphere():
    from vdae_core.geometry.manifolds import MANIFOLDS
    from vdae_core.metrics.mmd import mmd
    from vdae_core.metrics.trustworthiness import trustworthiness

    run, secs = _fit("sphere", 3000, 0, {"latent_manifold": "sphere", "latent_manifold_dim": 2})
    z = run.model.encode(run.dataset.X).astype(np.float64)
    S2, g = MANIFOLDS.get("sphere")(dim=2), torch.Generator().manual_seed(1000)
    uniform = lambda: S2.random_uniform(len(z), g, dtype=torch.float64).numpy()  # noqa: E731
    value = mmd(z, uniform())["mmd2"]
    null = [mmd(uniform(), uniform())["mmd2"] for _ in range(100)]
    trust = trustworthiness(run.dataset.X, z, k=10)
    print(f"sphere seed 0: MMD² {value:.2e} (null 95% {np.quantile(null, 0.95):.2e}), trust {trust:.4f}, {secs:.1f} s")
    assert value <= np.quantile(null, 0.95)
    assert trust >= 0.95


def test_run_saved_with_the_removed_centre_init_option_still_loads(tmp_path):
    """Runs written by ff6ec0c carry ``centre_init``; loading drops it and gives back the same weights."""
    import json

    from vdae_core.pipeline.runs import load_run, save_run

    run = train_run("delta_vae", CIRCLE, {**SMALL, "steps": 2, "restarts": 1, "restart_steps": 1}, seed=0)
    save_run(run, tmp_path / "r")
    meta = json.loads((tmp_path / "r" / "run.json").read_text())
    meta["model_config"]["centre_init"] = True
    (tmp_path / "r" / "run.json").write_text(json.dumps(meta))
    back = load_run(tmp_path / "r")
    np.testing.assert_array_equal(back.model.encode(CIRCLE_X()), run.model.encode(CIRCLE_X()))


def CIRCLE_X():
    return make_dataset(CIRCLE).X[:50]


def test_default_t_max_is_the_latent_manifolds_small_time_limit():
    """0.5 on flat spaces (circle, flat torus), 0.2 on SO(3), 0.05 on curved ones; a set t_max wins."""
    assert DeltaVAEConfig(latent_manifold="torus").t_upper == 0.05
    assert DeltaVAEConfig(latent_manifold="projective", latent_manifold_dim=3).t_upper == 0.05


def test_flat_torus_run_saved_before_per_circle_times_still_loads(tmp_path):
    """A run whose config lacks time_per_factor had one time output: it loads as such, weights intact."""
    import json

    from vdae_core.pipeline.runs import load_run, save_run

    over = {**SMALL, "latent_manifold": "flat_torus", "time_per_factor": False, "steps": 2, "restarts": 1,
            "restart_steps": 1}
    run = train_run("delta_vae", CIRCLE, over, seed=0)
    save_run(run, tmp_path / "r")
    meta = json.loads((tmp_path / "r" / "run.json").read_text())
    del meta["model_config"]["time_per_factor"]
    (tmp_path / "r" / "run.json").write_text(json.dumps(meta))
    back = load_run(tmp_path / "r")
    assert back.model.n_times == 1
    np.testing.assert_array_equal(back.model.encode(CIRCLE_X()), run.model.encode(CIRCLE_X()))
