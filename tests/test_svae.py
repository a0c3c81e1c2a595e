"""Tests of the hyperspherical VAE (vdae_core/models/svae.py): its loss is reconstruction + β·KL(vMF ‖ U(S^d))
with the exact KL of vdae_core/models/vmf.py, κ responds to β with the right sign, the circle latent S¹ trains
without NaN, codes lie on S^d for every ``latent_manifold_dim``, and (slow) the quality bar on the circle."""
import numpy as np
import pytest
import torch

from vdae_core.api import DataConfig, make_dataset, train_run
from vdae_core.foundation.errors import UserInputError
from vdae_core.models.svae import SVAE, SVAEConfig
from vdae_core.metrics.circular import circular_correlation
from vdae_core.models.vmf import VonMisesFisher
from vdae_core.pipeline.build import build_model

CIRCLE = DataConfig(dataset="circle", n=400, seed=0)
SMALL = {"hidden": 64, "device": "cpu"}


def _model(**over):
    ds = make_dataset(CIRCLE)
    m = build_model("svae", {**SMALL, **over}, ds, seed=0)
    m.prepare(ds.X)
    return m, torch.as_tensor(ds.X[:128])


@pytest.mark.parametrize("beta", [1.0, 2.5])
def test_loss_is_reconstruction_plus_beta_times_the_exact_vmf_kl(beta):
    model, x = _model(beta=beta, latent_manifold_dim=2)
    out = model.loss(x, torch.Generator().manual_seed(3))
    mu, kappa = model.posterior(x)
    kl = VonMisesFisher(mu, kappa).kl_to_uniform()
    assert bool((kl >= 0).all())
    torch.testing.assert_close(out["kl"], kl.mean())
    # The reconstruction term from the same vMF draw (the same generator seed gives the same sample).
    z = VonMisesFisher(mu, kappa).rsample(generator=torch.Generator().manual_seed(3))
    recon = (model.decoder(z) - model.x_scale(x)).pow(2).sum(1).mean() / (2 * model.config.recon_var)
    torch.testing.assert_close(out["recon"], recon)
    torch.testing.assert_close(out["loss"], recon + beta * kl.mean())


def test_kappa_is_softplus_plus_kappa_min_and_capped():
    model, x = _model(kappa_min=2.0, kappa_max=50.0)
    h = model.encoder(model.x_scale(x))
    _, kappa = model.posterior(x)
    torch.testing.assert_close(kappa, (torch.nn.functional.softplus(h[:, -1:]) + 2.0).clamp(max=50.0))
    with torch.no_grad():
        model.encoder[-1].bias[-1] = 1e4  # a saturating encoder: κ is capped, the loss stays finite
    out = model.loss(x, torch.Generator().manual_seed(0))
    assert torch.equal(model.posterior(x)[1], torch.full((len(x), 1), 50.0))
    assert all(bool(torch.isfinite(v)) for v in out.values())


def test_beta_sets_the_concentration_large_beta_collapses_to_uniform_beta_zero_concentrates():
    """A wrong sign of the KL would make β = 200 concentrate instead; a KL too large by orders of magnitude
    would collapse β = 1 as well."""
    kappas = {}
    for beta in (0.0, 1.0, 200.0):
        run = train_run("svae", CIRCLE, {**SMALL, "beta": beta, "steps": 200, "lr": 0.01}, seed=0, device="cpu")
        with torch.no_grad():
            _, kappa = run.model.posterior(torch.as_tensor(run.dataset.X))
        kappas[beta] = float(kappa.mean())
    # β = 200: the KL dominates and q(z|x) is pushed to the least concentrated vMF allowed (κ → κ_min = 1).
    assert kappas[200.0] < 1.05, kappas
    # β = 0 (no KL) and β = 1 (the ELBO): the reconstruction makes the posterior concentrate.
    assert kappas[0.0] > 10 and kappas[1.0] > 10, kappas


def test_circle_latent_trains_200_steps_with_finite_losses_and_codes_on_s1():
    run = train_run("svae", DataConfig(dataset="circle", n=500, seed=1), {"steps": 200, "device": "cpu"}, seed=1,
                    device="cpu")
    recs = run.history.records["svae"]
    assert recs[-1]["step"] == 200
    for r in recs:
        assert all(np.isfinite(r[k]) for k in ("loss", "recon", "kl", "kappa")), r
    assert recs[-1]["recon"] < recs[0]["recon"]
    z = run.model.encode(run.dataset.X)
    assert z.shape == (500, 2)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(run.model.sample(50, torch.Generator().manual_seed(0))).all()


@pytest.mark.parametrize("d", [1, 2, 5])
def test_respects_latent_manifold_dim(d):
    model, x = _model(latent_manifold_dim=d)
    space = model.latent_space
    assert (space.name, space.dim, space.shape, model.latent_dim) == ("sphere", d, (d + 1,), d + 1)
    assert model.encoder[-1].out_features == d + 2 and model.decoder[0].in_features == d + 1
    z = model.encode(x.numpy())
    assert z.shape == (len(x), d + 1)
    assert bool(space.belongs(torch.as_tensor(z, dtype=torch.float64), atol=1e-5).all())
    assert model.decode(z).shape == (len(x), 3)
    out = model.loss(x, torch.Generator().manual_seed(0))
    assert all(bool(torch.isfinite(v)) for v in out.values())
    assert model.sample(7, torch.Generator().manual_seed(0)).shape == (7, 3)
    # The dataset's suggested latent dimension plays no part.
    assert SVAE.latent_dim_for(SVAEConfig(latent_manifold_dim=d), 7, 100) == 0


def test_latent_dim_other_than_the_sphere_is_refused():
    assert SVAEConfig(latent_manifold_dim=2, latent_dim=3).latent_manifold_dim == 2
    with pytest.raises(UserInputError, match="latent_manifold_dim"):
        SVAEConfig(latent_manifold_dim=1, latent_dim=5)
    with pytest.raises(UserInputError):
        SVAEConfig(latent_manifold_dim=65)


@pytest.mark.slow
def test_quality_bar_circle_seed0_latent_angle_tracks_the_true_angle():
    """Defaults on circle n = 2000, seed 0: |Fisher–Lee(atan2(μ₂, μ₁), θ)| ≥ 0.95."""
    run = train_run("svae", DataConfig(dataset="circle", n=2000, seed=0), {"device": "cpu"}, seed=0, device="cpu")
    z = run.model.encode(run.dataset.X)
    rho = circular_correlation(run.dataset.params[:, 0], np.arctan2(z[:, 1], z[:, 0]))
    assert abs(rho) >= 0.95, rho
