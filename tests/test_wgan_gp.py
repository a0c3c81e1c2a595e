"""WGAN-GP (Gulrajani et al. 2017): the critic loss and gradient penalty in closed form, training that moves
the samples towards the data, and the noise-space walk and bi-Lipschitz pairs."""
import numpy as np
import pytest
import torch
from torch import nn

from vdae_core.api import DataConfig, make_dataset, train_run
from vdae_core.metrics.mmd import mmd
from vdae_core.pipeline.build import build_model

CIRCLE = DataConfig(dataset="circle", n=600, seed=0)


def _model(**over):
    return build_model("wgan_gp", {"device": "cpu", **over}, make_dataset(CIRCLE), seed=0)


def test_linear_critic_gives_the_closed_form_penalty_and_wasserstein_estimate():
    """For D(x) = w·x + b the gradient is w everywhere: GP = (‖w‖ − 1)², W = w·(mean x − mean G(u))."""
    model = _model(gp_weight=3.0)
    w = torch.tensor([[0.3, -1.2, 2.0]])
    lin = nn.Linear(3, 1)
    with torch.no_grad():
        lin.weight.copy_(w)
        lin.bias.fill_(0.7)
    model.critic = lin
    g = torch.Generator().manual_seed(0)
    x, fake = torch.randn(50, 3, generator=g), torch.randn(40, 3, generator=g) + 1.0
    t = model.critic_terms(x, fake, torch.Generator().manual_seed(1))
    gp = (w.norm() - 1) ** 2
    wass = (x.mean(0) - fake.mean(0)) @ w[0]
    torch.testing.assert_close(t["gp"], gp, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(t["wasserstein"], wass, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(t["loss"], -wass + 3.0 * gp, rtol=1e-5, atol=1e-5)


def test_penalty_is_differentiable_in_training_and_plain_in_evaluation():
    model = _model()
    x = model.x_scale(torch.as_tensor(make_dataset(CIRCLE).X[:64]))
    fake = model.generator(model.noise(64, torch.Generator().manual_seed(0))).detach()
    t = model.critic_terms(x, fake, torch.Generator().manual_seed(1))
    t["loss"].backward()  # second-order: the penalty's gradient reaches the critic's weights
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.critic.parameters())
    with torch.no_grad():
        e = model.loss(torch.as_tensor(make_dataset(CIRCLE).X[:64]), torch.Generator().manual_seed(2))
    assert torch.isfinite(e["loss"]) and not e["loss"].requires_grad


def test_training_brings_the_samples_to_the_data():
    """400 generator steps: MMD² of 600 samples to held-out circle points falls below 0.7× the untrained
    generator's (measured 0.48×; at the default 3,000 steps about 0.23×: the paper's settings learn slowly)."""
    held = make_dataset(DataConfig(dataset="circle", n=600, seed=99)).X
    before = _model().sample(600, torch.Generator().manual_seed(5))
    run = train_run("wgan_gp", CIRCLE, {"steps": 400, "device": "cpu"}, seed=0, device="cpu")
    after = run.model.sample(600, torch.Generator().manual_seed(5))
    h = mmd(held, make_dataset(DataConfig(dataset="circle", n=600, seed=98)).X)["bandwidth"]
    m_before, m_after = mmd(before, held, bandwidth=h)["mmd2"], mmd(after, held, bandwidth=h)["mmd2"]
    assert m_after < 0.7 * m_before, (m_before, m_after)
    assert "wasserstein" in run.history.records["wgan_gp"][-1]


def test_walk_perturbs_the_noise_of_the_nearest_generated_point():
    """With no step the walk lands on the generated point nearest the start (a fixed pool), so a second step
    stays there; latent_pairs are (noise, generator(noise))."""
    model = _model(walk_noise=0.0, walk_pool=256)
    X = make_dataset(CIRCLE).X[:7]
    g = torch.Generator().manual_seed(0)
    walk = model.random_walk(X, 2, g)
    pool = model.noise(256, torch.Generator().manual_seed(0))
    gen = model.decode(pool.numpy())
    nearest = np.argmin(((X[:, None, :] - gen[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_allclose(walk[1], gen[nearest], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(walk[2], walk[1], rtol=1e-5, atol=1e-6)
    u, x = model.latent_pairs(X, 30, torch.Generator().manual_seed(3))
    assert u.shape == (30, model.latent_dim) and x.shape == (30, 3)
    np.testing.assert_allclose(model.decode(u), x, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("noise", ["gaussian", "uniform"])
def test_noise_laws(noise):
    u = _model(noise=noise).noise(20_000, torch.Generator().manual_seed(0)).numpy()
    if noise == "uniform":
        assert u.min() >= -1 and u.max() <= 1
        assert abs(u.var() - 1 / 3) < 0.01  # Var U[-1, 1] = 1/3
    else:
        assert abs(u.var() - 1) < 0.03 and abs(u.mean()) < 0.02


def _param_grads(loss, params):
    return [torch.zeros_like(p) if g is None else g
            for p, g in zip(params, torch.autograd.grad(loss, params, allow_unused=True))]


@pytest.mark.parametrize("activation", ["relu", "tanh", "silu", "softplus", "elu"])
@pytest.mark.parametrize("hidden", [(7,), (6, 5)])
def test_explicit_input_gradient_matches_double_backward(activation, hidden):
    """The critic's value, its input gradient and the penalty's weight gradients from the explicit chain rule
    (networks.value_and_input_gradient, one backward) equal autograd's double backward to float64 rounding."""
    from vdae_core.models.networks import mlp, value_and_input_gradient
    torch.manual_seed(0)
    net = mlp(3, hidden, 1, activation).double()
    x = torch.randn(40, 3, dtype=torch.double, requires_grad=True)
    value, grad = value_and_input_gradient(net, x)
    ref, = torch.autograd.grad(net(x).sum(), x, create_graph=True)
    torch.testing.assert_close(value, net(x)[:, 0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, ref, rtol=1e-10, atol=1e-12)
    params = list(net.parameters())
    mine = _param_grads(((grad.norm(dim=1) - 1) ** 2).mean(), params)
    theirs = _param_grads(((ref.norm(dim=1) - 1) ** 2).mean(), params)
    assert max(float(t.abs().max()) for t in theirs) > 1e-3  # the penalty does depend on the weights
    for a, b in zip(mine, theirs):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_critic_of_another_form_falls_back_to_autograd_with_the_same_penalty():
    """A critic the explicit chain does not cover (here an MLP wrapped in a module) is differentiated by
    autograd; the penalty is the same as for the bare MLP, and both reach the weights in training."""
    from vdae_core.models.networks import value_and_input_gradient

    class Wrapped(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(x)

    model = _model()
    assert value_and_input_gradient(Wrapped(model.critic), torch.zeros(2, 3)) is None
    x = model.x_scale(torch.as_tensor(make_dataset(CIRCLE).X[:64]))
    fake = model.generator(model.noise(64, torch.Generator().manual_seed(0))).detach()
    explicit = model.critic_terms(x, fake, torch.Generator().manual_seed(1))
    model.critic = Wrapped(model.critic)
    fallback = model.critic_terms(x, fake, torch.Generator().manual_seed(1))
    for k in ("loss", "gp", "wasserstein"):
        torch.testing.assert_close(explicit[k], fallback[k], rtol=1e-5, atol=1e-6)
    g1 = torch.autograd.grad(explicit["loss"], list(model.critic.net.parameters()), allow_unused=True)
    g2 = torch.autograd.grad(fallback["loss"], list(model.critic.net.parameters()), allow_unused=True)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
