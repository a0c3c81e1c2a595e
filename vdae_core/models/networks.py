"""Small network builders shared by the models."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

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
