"""K seeds trained as one (issue 35): the stacked networks compute what each network computes, one seed's NaN stops
that seed alone, and a stop request ends every seed with what it learned."""
import math

import numpy as np
import pytest
import torch

from vdae_core.data import DataConfig
from vdae_core.models.networks import mlp
from vdae_core.pipeline.train import finish, start
from vdae_core.training.seed_batch import train_together
from vdae_core.models.stacked import StackedMLP

TINY = {"steps": 12, "hidden": 32, "batch_size": 64, "device": "cpu"}


@pytest.mark.parametrize("activation", ["relu", "tanh", "silu", "softplus"])
def test_a_stack_of_mlps_computes_each_mlp_and_its_input_gradient(activation):
    torch.manual_seed(0)
    nets = [mlp(3, (16, 8), 1, activation) for _ in range(4)]
    stack = StackedMLP.of(nets)
    x = torch.randn(4, 10, 3)
    out = stack(x)
    value, grad = stack.value_and_input_gradient(x)
    for k, net in enumerate(nets):
        xk = x[k].clone().requires_grad_(True)
        yk = net(xk)
        gk, = torch.autograd.grad(yk.sum(), xk)
        assert torch.allclose(out[k], yk, atol=1e-6) and torch.allclose(value[k], yk[:, 0], atol=1e-6)
        assert torch.allclose(grad[k], gk, atol=1e-6)  # the explicit chain rule against autograd
    # slice k of the gradient of the summed loss is network k's own gradient
    loss = (stack(x) ** 2).mean((1, 2))
    loss.sum().backward()
    for k, net in enumerate(nets):
        (net(x[k]) ** 2).mean().backward()
        assert torch.allclose(stack.layers[0][1].grad[k], net[0].weight.grad, atol=1e-6)
    with torch.no_grad():
        stack.layers[0][1].add_(1.0)
    stack.write_back(nets)
    assert torch.allclose(nets[2][0].weight, stack.layers[0][1][2])


def test_only_mlps_of_one_shape_stack():
    assert StackedMLP.of([mlp(3, (8,), 1), mlp(3, (9,), 1)]) is None
    assert StackedMLP.of([torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3))]) is None
    assert StackedMLP.of([mlp(3, (8,), 1)] * 2) is not None


def _trainings(seeds=(0, 1, 2), **over):
    return [start("wgan_gp", DataConfig(dataset="circle", n=200, seed=s), {**TINY, **over}, seed=s) for s in seeds]


def test_one_seeds_nan_stops_that_seed_and_the_others_train_as_alone():
    alone = []
    for t in _trainings(seeds=(0, 2)):
        t.trainer.run()
        alone.append(finish(t).model.state_dict())
    together = _trainings()
    phase = together[0].trainer.phases[0]
    real_stack = type(phase).stack

    def poisoned_stack(self, trainers):  # seed 1's critic weights turn NaN after the phase has stacked them
        stacked = real_stack(self, trainers)
        with torch.no_grad():
            stacked.D.layers[0][1][1].fill_(math.nan)
        return stacked
    type(phase).stack = poisoned_stack
    try:
        failed = train_together([t.trainer for t in together])
    finally:
        type(phase).stack = real_stack
    assert failed[0] is None and failed[2] is None
    assert "training diverged" in failed[1] and "at step 0" in failed[1]
    assert together[1].trainer.history.stopped_early and together[1].trainer.history.message == failed[1]
    for want, t in zip(alone, (together[0], together[2])):
        got = finish(t).model.state_dict()
        assert all(torch.allclose(want[k], got[k], rtol=1e-4, atol=1e-5) for k in want)
        assert np.isfinite(t.trainer.history.records["wgan_gp"][-1]["loss"])


def test_a_stop_request_ends_every_seed_with_what_it_learned():
    together = _trainings(steps=1000)
    polls = []

    def stop():
        polls.append(1)
        return len(polls) > 5  # after 5 steps
    assert train_together([t.trainer for t in together], should_stop=stop) == [None] * 3
    for t in together:
        run = finish(t)
        assert run.history.stopped_early and "stopped by request in phase 'wgan_gp' at step 5" in run.history.message
        assert t.trainer.done and t.trainer.steps_done == 5
    init = start("wgan_gp", DataConfig(dataset="circle", n=200, seed=0), TINY, seed=0).trainer.model.state_dict()
    trained = together[0].trainer.model.state_dict()
    assert not torch.allclose(init["critic.0.weight"], trained["critic.0.weight"])  # written back, not left at init
