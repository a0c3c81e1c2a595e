"""Small network builders shared by the models, and the network registry.

A network family is registered in :data:`~vdae_core.registry.NETWORKS` as a builder
``build(in_shape, out_dim, hidden, activation) -> nn.Module`` mapping inputs of shape (B, *in_shape) to
(B, out_dim); a model's config names the family (``network``), so a new architecture (a convolutional
one for images) is one registration.
"""
from __future__ import annotations

import math
from typing import Sequence, Tuple

import torch
from torch import nn

from ..registry import NETWORKS

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU, "softplus": nn.Softplus, "elu": nn.ELU}


def mlp(n_in: int, hidden: Sequence[int], n_out: int, activation: str = "relu") -> nn.Sequential:
    """Fully connected network n_in -> hidden... -> n_out with the given activation between layers."""
    act = ACTIVATIONS[activation]
    layers = []
    prev = n_in
    for h in hidden:
        layers += [nn.Linear(prev, h), act()]
        prev = h
    layers.append(nn.Linear(prev, n_out))
    return nn.Sequential(*layers)


@NETWORKS.register("mlp", help="Fully connected layers on the flattened input.")
def mlp_network(in_shape: Tuple[int, ...], out_dim: int, hidden: Sequence[int], activation: str = "relu") -> nn.Module:
    """An MLP on inputs of shape (B, *in_shape), flattened; output (B, out_dim)."""
    net = mlp(int(math.prod(in_shape)), hidden, out_dim, activation)
    return net if len(in_shape) == 1 else nn.Sequential(nn.Flatten(), *net)


def network(config, in_shape: Tuple[int, ...], out_dim: int, hidden: Sequence[int], activation: str) -> nn.Module:
    """The network of the config's family (``config.network``)."""
    return NETWORKS.build(config.network, tuple(in_shape), int(out_dim), tuple(hidden), activation)


class Standardise(nn.Module):
    """Fixed affine input map x -> (x - mean) / scale with one scalar scale (keeps the geometry)."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(()))

    def fit(self, X: torch.Tensor) -> "Standardise":
        self.mean.copy_(X.mean(0))
        s = (X - X.mean(0)).pow(2).sum(1).mean().sqrt()
        self.scale.copy_(torch.clamp(s, min=1e-12))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.scale

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y * self.scale + self.mean
