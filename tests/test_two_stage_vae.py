"""Two-stage VAE (Dai & Wipf 2019): the learned-variance likelihood in closed form, the γ floor, stages trained
one after the other, and the paper's claim that stage 2's aggregate posterior is closer to N(0, I)."""
import math

import numpy as np
import pytest
import torch

from vdae_core.api import DataConfig, make_dataset, train_run
from vdae_core.metrics.mmd import mmd
from vdae_core.models.two_stage_vae import _gaussian_nll


def test_gaussian_nll_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    x, mu = torch.randn(30, 4, generator=g), torch.randn(30, 4, generator=g)
    lg = torch.tensor(-1.3)
    ref = -torch.distributions.Normal(mu, math.exp(0.5 * -1.3)).log_prob(x).sum(1).mean()
    torch.testing.assert_close(_gaussian_nll(x, mu, lg), ref, rtol=1e-5, atol=1e-5)


def test_log_gamma_is_floored():
    from vdae_core.pipeline.build import build_model

    model = build_model("two_stage_vae", {"device": "cpu", "log_gamma_min": -3.0},
                        make_dataset(DataConfig(dataset="circle", n=200, seed=0)), seed=0)
    with torch.no_grad():
        model.log_gamma.fill_(-50.0)
    out = model.loss(torch.as_tensor(make_dataset(DataConfig(dataset="circle", n=200, seed=0)).X[:32]))
    assert float(out["log_gamma"]) == -3.0 and torch.isfinite(out["loss"])


def _aggregate_mmds(run, n):
    z, u = run.model.aggregate_posteriors(run.dataset.X, torch.Generator().manual_seed(2))
    g = torch.Generator().manual_seed(3)
    normal = lambda: torch.randn(n, z.shape[1], generator=g).numpy()  # noqa: E731
    ref = normal()
    h = mmd(normal(), ref)["bandwidth"]
    null = [mmd(normal(), normal(), bandwidth=h)["mmd2"] for _ in range(50)]
    return mmd(z, ref, bandwidth=h)["mmd2"], mmd(u, ref, bandwidth=h)["mmd2"], float(np.quantile(null, 0.95))


def test_stage2_aggregate_posterior_is_closer_to_the_prior_and_stage1_is_left_alone():
    """Circle, n = 1,000, κ = 2, 600 + 1,000 steps: MMD² of u ~ q(u) to N(0, I) is below 0.6× that of
    z ~ q(z) (measured 0.44× and 0.45× on seeds 0 and 1); stage 2 does not move stage 1's weights."""
    snap = {}

    def keep(p):
        if p.phase == "stage2" and not snap:
            snap.update({k: v.detach().clone() for k, v in run_model[0].state_dict().items() if k.startswith(
                ("encoder.", "decoder.", "log_gamma")) and not k.startswith(("encoder2", "decoder2", "log_gamma2"))})

    from vdae_core.pipeline.train import finish, start

    tr = start("two_stage_vae", DataConfig(dataset="circle", n=1000, seed=0),
               {"steps": 600, "stage2_steps": 1000, "stage2_hidden": 128, "latent_dim": 2, "device": "cpu"}, seed=0,
               callbacks=[keep])
    run_model = [tr.model]
    tr.run()
    run = finish(tr)
    assert snap, "no report from stage 2"
    state = run.model.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in snap.items())
    mz, mu, _ = _aggregate_mmds(run, 1000)
    assert mu < 0.6 * mz, (mz, mu)


@pytest.mark.slow
def test_stage2_aggregate_posterior_is_inside_the_null_at_default_settings():
    """Defaults (2,000 + 2,000 steps), circle n = 2,000: q(u) inside the 95% null of two N(0, I) samples,
    q(z) outside it (measured: z 2.8e-3, u 5.5e-4, null q95 about 1e-3)."""
    run = train_run("two_stage_vae", DataConfig(dataset="circle", n=2000, seed=0), {"latent_dim": 2, "device": "cpu"},
                    seed=0, device="cpu")
    mz, mu, q95 = _aggregate_mmds(run, 2000)
    assert mu <= q95 < mz, (mz, mu, q95)
