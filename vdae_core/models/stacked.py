"""K copies of one small network trained as one: stacked weights and batched matrix products (issue 35).

The networks of the point-cloud models are MLPs of a few hundred units on batches of 256. K seeds of one model
repeat the same operations; stacking each layer's weights of the K copies into one tensor (K, out, in) and
running ``baddbmm`` on inputs (K, B, in) does the K seeds' work in one operation each, which saves the
per-operation overhead where that is what a step costs (a GPU).

Each seed keeps its own numbers: the stacked tensors are new leaves whose slice k starts as copy k's weights,
a loss that is the sum of the K seeds' losses has in slice k exactly seed k's gradient (the seeds share no
weight), and Adam is elementwise, so one Adam over the stacked tensors is K Adams. A seed whose loss turns NaN
fills only its own slices. :meth:`StackedMLP.write_back` copies the slices back into the K networks.

Written here rather than with ``torch.func.stack_module_state`` and ``vmap``: these explicit products are the
operations the single-seed step runs, with a leading K, and were faster than vmap's in ``benchmarks/bench_seed_batch.py``.
Neither beat K single-seed steps on the 2-core CPU (a WGAN-GP step there is bound by arithmetic on 256 × 500
activations, not by per-operation overhead), so the sweeps stack seeds only when asked (``--batch-seeds``).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn

from vdae_core.models.networks import _activation_slope


def _layers(net: nn.Module) -> Optional[List[nn.Module]]:
    """The layers of an MLP (:func:`~vdae_core.models.networks.mlp`, optionally after ``nn.Flatten``), or None."""
    mods = list(net) if isinstance(net, nn.Sequential) else [net]
    if mods and isinstance(mods[0], nn.Flatten):
        mods = mods[1:]
    if not mods or not isinstance(mods[-1], nn.Linear):
        return None
    for m in mods:
        if not isinstance(m, nn.Linear) and _activation_slope(m, torch.zeros(1), torch.zeros(1)) is None:
            return None  # not an elementwise activation this module knows the slope of
    return mods


class StackedMLP:
    """K MLPs of one architecture as stacked leaf tensors.

    Parameters
    ----------
    nets : sequence of K networks with identical layers (see :meth:`of`).
    """

    def __init__(self, nets: Sequence[nn.Module]):
        per = [_layers(n) for n in nets]
        self.layers: List[Tuple] = []  # ("linear", W (K, out, in), b (K, out)) or ("act", module)
        for j, m in enumerate(per[0]):
            if isinstance(m, nn.Linear):
                W = torch.stack([p[j].weight.detach() for p in per]).clone().requires_grad_(True)
                b = torch.stack([p[j].bias.detach() for p in per]).clone().requires_grad_(True)
                self.layers.append(("linear", W, b))
            else:
                self.layers.append(("act", m))

    @classmethod
    def of(cls, nets: Sequence[nn.Module]) -> Optional["StackedMLP"]:
        """The stack of ``nets``, or None when they are not MLPs of one shape (a convolutional network)."""
        per = [_layers(n) for n in nets]
        if any(p is None for p in per):
            return None
        shapes = [[(type(m), tuple(m.weight.shape) if isinstance(m, nn.Linear) else None) for m in p] for p in per]
        if any(s != shapes[0] for s in shapes) or any(m.bias is None for m in per[0] if isinstance(m, nn.Linear)):
            return None
        return cls(nets)

    def parameters(self) -> List[torch.Tensor]:
        return [t for layer in self.layers if layer[0] == "linear" for t in layer[1:]]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x (K, B, *in) -> (K, B, out)."""
        a = x.flatten(2)
        for layer in self.layers:
            a = torch.baddbmm(layer[2].unsqueeze(1), a, layer[1].transpose(1, 2)) if layer[0] == "linear" \
                else layer[1](a)
        return a

    def value_and_input_gradient(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(D(x) (K, B), ∇ₓD(x) (K, B, m)) of scalar-output MLPs, the explicit chain rule of
        :func:`~vdae_core.models.networks.value_and_input_gradient` with a leading K."""
        a = x.flatten(2)
        weights, slopes = [], []
        for layer in self.layers:
            if layer[0] == "linear":
                weights.append(layer[1])
                a = torch.baddbmm(layer[2].unsqueeze(1), a, layer[1].transpose(1, 2))
            else:
                h, a = a, layer[1](a)
                slopes.append(_activation_slope(layer[1], h, a))
        v = weights[-1].expand(-1, x.shape[1], -1)  # (K, B, H_{L-1})
        for W, slope in zip(reversed(weights[:-1]), reversed(slopes)):
            v = torch.bmm(v * slope, W)
        return a[..., 0], v

    @torch.no_grad()
    def write_back(self, nets: Sequence[nn.Module], keep: Optional[Sequence[bool]] = None) -> None:
        """Copy slice k of every stacked tensor into ``nets[k]``'s weights (only where ``keep[k]``, if given)."""
        for k, net in enumerate(nets):
            if keep is not None and not keep[k]:
                continue
            mods = _layers(net)
            for m, layer in zip(mods, self.layers):
                if layer[0] == "linear":
                    m.weight.copy_(layer[1][k])
                    m.bias.copy_(layer[2][k])
