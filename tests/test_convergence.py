"""Issue 16: training phases that stop at convergence, the learning-rate schedule around it, and the ETA."""
import math

import numpy as np
import pytest
import torch

from vdae_core.api import DataConfig, Trainer
from vdae_core.training.phases import Convergence, OptimiserPhase, TrainData
from vdae_core.pipeline.train import start


def _data(n=64, seed=0):
    X = np.random.default_rng(seed).normal(size=(n, 3)).astype(np.float32)
    return TrainData(torch.as_tensor(X), X, torch.device("cpu"), torch.Generator().manual_seed(seed))


def _phase(steps, convergence, loss_fn, lr=0.05, final=0.0):
    w = torch.nn.Parameter(torch.full((3,), 5.0))
    ph = OptimiserPhase("toy", steps, lambda: [w], lambda x, g: {"loss": loss_fn(w, x)}, 16, lr, final_lr_fraction=final,
                        convergence=convergence)
    return ph, w


def _run(ph, data):
    ph.start(None, data)
    lrs, i = [], 0
    while i < ph.steps:
        ph.step(None, data, i)
        lrs.append(ph.opt.param_groups[0]["lr"])
        i += 1
    return lrs, i


def test_improvement_needs_two_full_windows_and_measures_the_relative_fall():
    c = Convergence(window=10, rel_tol=0.05, min_steps=20)
    assert c.improvement([1.0] * 19) is None           # fewer than min_steps
    assert c.improvement([1.0] * 25) is None           # not at a window boundary
    assert c.improvement([2.0] * 10 + [1.0] * 10) == pytest.approx(0.5)
    assert c.improvement([1.0] * 10 + [1.1] * 10) == pytest.approx(-0.1)


def test_a_quadratic_converges_early_and_says_so():
    # |w|² has its minimum 0: the loss falls geometrically, then stops falling (by < 1% per window).
    conv = Convergence(window=20, rel_tol=0.01, min_steps=40, tail=15)
    ph, w = _phase(2000, conv, lambda w, x: (w ** 2).sum() + 1.0)
    lrs, n = _run(ph, _data())
    assert n < 2000 and ph.steps == n
    assert ph.stop_reason.startswith("converged at step") and "annealing" in ph.stop_reason
    assert float((w.detach() ** 2).sum()) < 1e-2
    # Constant rate until convergence, then the cosine over the tail down to the final fraction (0).
    at = n - conv.tail
    assert all(lr == pytest.approx(0.05) for lr in lrs[:at])
    assert lrs[-1] == pytest.approx(0.05 * 0.5 * (1 + math.cos(math.pi * (conv.tail - 1) / conv.tail)))
    assert all(a >= b for a, b in zip(lrs[at:], lrs[at + 1:]))


def test_a_loss_that_keeps_falling_runs_to_its_cap_and_anneals_there():
    # A linear loss with a tiny rate falls by the same amount per window: never by < rel_tol of itself.
    conv = Convergence(window=10, rel_tol=1e-6, min_steps=20, tail=10)
    ph, w = _phase(100, conv, lambda w, x: w.sum() + 100.0, lr=1e-2)
    lrs, n = _run(ph, _data())
    assert n == 100 and ph.stop_reason.startswith("reached its cap of 100 steps")
    assert all(lr == pytest.approx(1e-2) for lr in lrs[:90]) and lrs[-1] < 1e-3


def test_without_a_rule_the_schedule_is_torchs_cosine():
    ph, w = _phase(50, None, lambda w, x: (w ** 2).sum(), lr=0.1, final=0.05)
    ph.start(None, _data())
    ref = torch.optim.lr_scheduler.CosineAnnealingLR(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1),
                                                     50, eta_min=0.1 * 0.05)
    for i in range(50):
        assert ph.lr_at(i) == pytest.approx(ref.get_last_lr()[0], rel=1e-9)
        ref.optimizer.step()
        ref.step()
    assert ph.stop_reason == "ran its 50 steps"


def test_vdae_history_says_why_each_phase_ended(tiny_vdae):
    tr = start("vdae", DataConfig(dataset="circle", n=400, seed=0),
               {**tiny_vdae, "vae_steps": 1500, "converge_tol": 0.05}, seed=0)
    tr.run()
    reasons = tr.history.stop_reasons
    assert reasons["diffusion fit"] == "ran its 40 steps" and reasons["decoder fit"] == "ran its 20 steps"
    v = reasons["variational"]
    assert v.startswith("converged at step"), v
    at = int(v.split()[3].rstrip(":"))
    assert tr.history.records["variational"][-1]["step"] == at + 100 < 1500  # then the 100 annealing steps
    assert not tr.history.stopped_early  # converging is finishing, not stopping early


def test_eta_is_unknown_first_then_positive_then_zero(tiny_vdae):
    tr = start("vdae", DataConfig(dataset="circle", n=400, seed=0), {**tiny_vdae, "vae_steps": 300, "converge_tol": 0.05},
               seed=0)
    assert tr.eta_seconds() is None
    tr.advance(max_steps=20)
    left, bound = tr.eta_seconds()
    assert left > 0 and bound  # the variational phase has a convergence rule: an upper bound
    total = tr.total_steps
    tr.run()
    assert tr.eta_seconds() == (0.0, False) and tr.total_steps <= total
