"""The importance-sampled log-likelihood (Burda et al. 2016; issue 36, item 2) against closed forms.

A linear-Gaussian model x̂ = W u + b + σ ε, u ~ N(0, I), has the marginal N(b, W Wᵀ + σ² I) and a Gaussian
posterior; a β-VAE whose encoder and decoder are those linear maps must give that marginal (in data units, the
standardisation's Jacobian included) for every draw when its encoder is the exact posterior, and tend to it as L
grows when it is not, from below (the IWAE bound). Every registered model with ``has_likelihood`` is checked
against its own training loss: the mean of the log weights is the ELBO, −loss at β = 1 less the constants the
loss drops.
"""
import math

import numpy as np
import pytest
import torch
from scipy import stats

from vdae_core.api import MODELS, DataConfig, make_dataset
from vdae_core.foundation.errors import UserInputError
from vdae_core.metrics.likelihood import importance_sampled_log_likelihood, log_mean_exp
from vdae_core.pipeline.build import build_model

SIGMA2 = 0.05
W = np.array([[1.5, 0.0], [0.0, 0.7], [0.0, 0.0]])  # orthogonal columns: the exact posterior is diagonal
B = np.array([0.2, -0.1, 0.3])


def _linear_gaussian_vae(exact: bool = True):
    """A β-VAE (k = 2, m = 3) made linear: decoder f(u) = W u + b, encoder the exact posterior (or a wrong one)."""
    X = np.random.default_rng(0).normal(size=(400, 3)) * [2.0, 1.0, 0.5] + [1.0, -2.0, 0.5]
    ds = make_dataset(DataConfig(dataset="circle", n=200, seed=0))  # only its shape (m = 3) is used
    model = build_model("beta_vae", {"recon_var": SIGMA2, "latent_dim": 2, "device": "cpu"}, ds, seed=0)
    model.prepare(X)
    Wt, bt = torch.tensor(W, dtype=torch.float32), torch.tensor(B, dtype=torch.float32)
    model.decoder = torch.nn.Linear(2, 3)
    model.encoder = torch.nn.Linear(3, 4)
    M = np.eye(2) + W.T @ W / SIGMA2  # posterior precision
    S = np.linalg.inv(M)  # diagonal
    A = S @ W.T / SIGMA2  # posterior mean = A (x̂ − b)
    if not exact:
        A, S = 0.8 * A, 2.0 * S
    with torch.no_grad():
        model.decoder.weight.copy_(Wt)
        model.decoder.bias.copy_(bt)
        model.encoder.weight.zero_()
        model.encoder.bias.zero_()
        model.encoder.weight[:2] = torch.tensor(A, dtype=torch.float32)
        model.encoder.bias[:2] = torch.tensor(-A @ B, dtype=torch.float32)
        model.encoder.bias[2:] = torch.tensor(np.log(np.diag(S)), dtype=torch.float32)
    return model, X


def _exact_log_likelihood(model, X):
    mean = model.x_scale.mean.numpy().astype(np.float64)
    s = float(model.x_scale.scale)
    Xh = (X - mean) / s
    return stats.multivariate_normal(B, W @ W.T + SIGMA2 * np.eye(3)).logpdf(Xh) - 3 * math.log(s)


def test_the_exact_posterior_gives_the_closed_form_marginal_for_any_number_of_samples():
    model, X = _linear_gaussian_vae(exact=True)
    exact = _exact_log_likelihood(model, X[:50])
    for L in (1, 7):
        got = importance_sampled_log_likelihood(model, X[:50], samples=L, generator=torch.Generator().manual_seed(1))
        # every weight equals p(x): float32 arithmetic is the only error
        np.testing.assert_allclose(got["log_likelihood"], exact, atol=2e-3)
        np.testing.assert_allclose(got["elbo"], exact, atol=2e-3)


def test_a_wrong_posterior_gives_a_bound_that_rises_to_the_marginal():
    model, X = _linear_gaussian_vae(exact=False)
    exact = _exact_log_likelihood(model, X[:100])
    means = {}
    for L in (1, 10, 2000):
        got = importance_sampled_log_likelihood(model, X[:100], samples=L, generator=torch.Generator().manual_seed(2))
        means[L] = float(np.mean(got["log_likelihood"] - exact))
    # the bound is below (the ELBO by a clear margin) and rises with L; 2,000 draws land within 0.02 nats a point
    assert means[1] < -0.1 and means[1] < means[10] < means[2000] + 1e-3, means
    assert abs(means[2000]) < 0.02, means


def test_log_mean_exp_is_stable_and_exact():
    w = torch.tensor([[1000.0, -1000.0], [1000.0 + math.log(3.0), -1000.0]], dtype=torch.float64)
    np.testing.assert_allclose(log_mean_exp(w, 0).numpy(), [1000.0 + math.log(2.0), -1000.0])


def test_bad_input_is_a_clear_error():
    model, X = _linear_gaussian_vae()
    with pytest.raises(UserInputError, match="NaN"):
        importance_sampled_log_likelihood(model, np.full((3, 3), np.nan))
    with pytest.raises(UserInputError, match="at least 1"):
        importance_sampled_log_likelihood(model, X[:3], samples=0)
    wgan = build_model("wgan_gp", {"device": "cpu"}, make_dataset(DataConfig(dataset="circle", n=200)), seed=0)
    with pytest.raises(UserInputError, match="no tractable density"):
        importance_sampled_log_likelihood(wgan, X[:3])


LIKELIHOOD_MODELS = [n for n in MODELS.names() if MODELS.get(n).has_likelihood]


def test_the_gaussian_and_spherical_vaes_have_a_likelihood():
    assert {"beta_vae", "svae", "er_vae"} <= set(LIKELIHOOD_MODELS)


@pytest.mark.parametrize("name", LIKELIHOOD_MODELS)
def test_the_mean_log_weight_is_the_elbo_of_the_training_loss(name):
    """E_q[log p(x|z) + log p(z) − log q(z|x)] = −(recon + KL) − (m/2) log 2πσ² − m log s at β = 1: the loss's
    terms with the constants it drops. Averaged over 4,000 draws a point; the loss's KL is exact (or its own
    estimate), the weights' a sampled one, so they agree to within their Monte Carlo error (threshold 0.05 nats
    on a mean over 20 points, several standard errors here)."""
    ds = make_dataset(DataConfig(dataset="circle", n=200, seed=0))
    model = build_model(name, {"beta": 1.0, "device": "cpu"}, ds, seed=0)
    model.prepare(ds.X)
    model.eval()
    x = torch.as_tensor(ds.X[:20], dtype=torch.float32)
    with torch.no_grad():
        got = importance_sampled_log_likelihood(model, ds.X[:20], samples=4000,
                                                generator=torch.Generator().manual_seed(3))
        losses = [model.loss(x, torch.Generator().manual_seed(s)) for s in range(200)]
    recon = float(np.mean([float(l_["recon"]) for l_ in losses]))
    kl = float(losses[0]["kl"])
    m, var, s = model.data_dim, model.config.recon_var, float(model.x_scale.scale)
    const = -0.5 * m * math.log(2 * math.pi * var) - m * math.log(s)
    assert abs(float(np.mean(got["kl"])) - kl) < 0.05, (float(np.mean(got["kl"])), kl)
    assert abs(float(np.mean(got["recon"])) - (const - recon)) < 0.05 * max(1.0, abs(recon)), (got["recon"].mean(), const - recon)


def test_draws_taken_in_chunks_combine_to_the_whole_estimate(monkeypatch):
    """Memory does not grow with L: the draws are decoded in chunks of at most ROWS_PER_PASS rows and combined by a
    running log-sum-exp. Against the log-mean-exp of all the chunks' weights put together (the same draws)."""
    import vdae_core.metrics.likelihood as lik

    model, X = _linear_gaussian_vae(exact=False)
    monkeypatch.setattr(lik, "ROWS_PER_PASS", 70)  # 10 points a pass: chunks of 7 draws, 9 of them and one of 1
    got = importance_sampled_log_likelihood(model, X[:10], samples=64, generator=torch.Generator().manual_seed(4),
                                            batch_points=10)
    g = torch.Generator().manual_seed(4)
    x = torch.as_tensor(X[:10], dtype=torch.float32)
    with torch.no_grad():
        parts = [model.log_weights(x, L, g) for L in [7] * 9 + [1]]
    recon, prior, post = (torch.cat([p[i] for p in parts]).double() for i in range(3))
    w = recon + prior - post
    assert w.shape == (64, 10)
    np.testing.assert_allclose(got["log_likelihood"], log_mean_exp(w, 0).numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got["elbo"], w.mean(0).numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got["kl"], (post - prior).mean(0).numpy(), rtol=1e-9, atol=1e-9)


def test_the_command_reports_held_out_and_training_numbers_and_refuses_a_model_without_a_density(tmp_path, capsys):
    import json

    from vdae_core.cli import main

    for model in ("beta_vae", "wgan_gp"):
        assert main(["train", "--model", model, "--dataset", "circle", "--n", "300", "--set", "steps=30",
                     "--out", str(tmp_path / model)]) == 0
    assert main(["likelihood", "--run", str(tmp_path / "beta_vae"), "--samples", "8", "--n", "60",
                 "--out", str(tmp_path / "ll.json")]) == 0
    rep = json.load(open(tmp_path / "ll.json"))
    assert rep["samples"] == 8 and rep["points"] == 60 and "fresh samples" in rep["reference"]
    for side in ("held_out", "training"):
        assert rep[side]["log_likelihood_se"] > 0 and np.isfinite(rep[side]["log_likelihood"])
    assert rep["gap"] == pytest.approx(rep["training"]["log_likelihood"] - rep["held_out"]["log_likelihood"])
    capsys.readouterr()
    assert main(["likelihood", "--run", str(tmp_path / "wgan_gp"), "--out", str(tmp_path / "w.json")]) == 2
    assert "WGAN-GP has no tractable density" in capsys.readouterr().err
    assert not (tmp_path / "w.json").exists()
