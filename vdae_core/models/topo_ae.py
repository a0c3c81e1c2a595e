"""The Topological Autoencoder (Moor, Horn, Rieck & Borgwardt, ICML 2020): an autoencoder whose loss keeps the
data's 0-dimensional persistence pairings in the latent space (issue 32, part 4).

For a batch X with codes Z and distance matrices A^X, A^Z, the 0-dimensional persistence pairing π of a
Vietoris–Rips filtration is the set of edges of the minimum spanning tree (each edge kills a component). The
topological loss (their Eq. 4–6) compares the distances at both trees' edges,

    L_t = ½ ‖A^X[π^X] − A^Z[π^X]‖² + ½ ‖A^Z[π^Z] − A^X[π^Z]‖²,

and the model minimises the reconstruction error plus λ L_t. As in the authors' code, the data distances are
those of the standardised points and the latent distances are divided by a learnt scale (``latent_norm``), so the
loss asks for the same *shape*, not the same size; the trees come from scipy's minimum spanning tree on the
batch (gradients flow through the selected distances only, the pairing being piecewise constant).

It encodes and decodes but draws no codes of its own: no samples (an autoencoder, not a generative model).
"""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

import numpy as np
import torch

from vdae_core.foundation.config import param
from vdae_core.foundation.registry import MODELS
from vdae_core.models.base import ModelConfig, StandardisedModel
from vdae_core.models.networks import network
from vdae_core.training.phases import OptimiserPhase, Phase


@dataclasses.dataclass(frozen=True)
class TopoAEConfig(ModelConfig):
    """Hyperparameters of the topological autoencoder (the authors' synthetic-data settings where they give them)."""

    topo_weight: float = param(1.0, help="λ: weight of the topological loss against the reconstruction error.",
                               min=0.0, max=1000.0)
    steps: int = param(2000, help="Gradient steps.", min=1, max=200_000)
    batch_size: int = param(128, help="Batch size (the persistence pairing is read on each batch; its cost grows "
                                      "with the square of the batch).", min=8, max=2048)
    lr: float = param(1e-3, help="Learning rate.", min=1e-6, max=1.0)
    hidden: int = param(256, help="Width of every hidden layer.", min=8, max=4096)
    depth: int = param(2, help="Hidden layers of encoder and decoder.", min=1, max=8)
    activation: str = param("relu", help="Activation.", choices=("relu", "tanh", "silu", "softplus"))
    walk_noise: float = param(0.1, help="Latent noise std of the encode-perturb-decode walk, in units of the codes' "
                                        "RMS radius.", min=0.0, max=10.0)

    ESSENTIAL = ("latent_dim", "topo_weight", "steps", "hidden", "device")


def mst_edges(D: np.ndarray) -> np.ndarray:
    """Edges (n − 1, 2) of the minimum spanning tree of a distance matrix (n, n): the 0-dimensional persistence
    pairing of its Vietoris–Rips filtration."""
    from scipy.sparse.csgraph import minimum_spanning_tree

    T = minimum_spanning_tree(D).tocoo()
    return np.stack([T.row, T.col], 1)


def topological_loss(X: torch.Tensor, Z: torch.Tensor, latent_norm: torch.Tensor) -> torch.Tensor:
    """L_t of a batch (Moor et al. 2020, Eq. 6): points X (B, m), codes Z (B, d), the latent scale (scalar)."""
    AX = torch.cdist(X, X)
    AZ = torch.cdist(Z, Z) / latent_norm
    total = X.new_zeros(())
    for A, B in ((AX, AZ), (AZ, AX)):
        e = torch.as_tensor(mst_edges(A.detach().cpu().double().numpy() + 1e-12), device=X.device)
        if len(e):
            total = total + 0.5 * (A[e[:, 0], e[:, 1]] - B[e[:, 0], e[:, 1]]).pow(2).sum()
    return total


@MODELS.register("topo_ae", help="Topological autoencoder (Moor et al. 2020): keeps the data's 0-dim persistence "
                                 "pairings in the latent (no samples).")
class TopoAE(StandardisedModel):
    """Encoder Z = g(x), decoder f(z); loss = ‖f(g(x)) − x̂‖² + λ L_t / B per batch."""

    name = "topo_ae"
    title = "topological autoencoder"
    config_class = TopoAEConfig
    has_sampler = False
    training_notes = ("One phase: the batch's reconstruction error plus λ times the topological loss of Moor et al. "
                      "(2020): the distances along the minimum spanning trees of data and codes (their 0-dimensional "
                      "persistence pairings) must agree, the codes' up to a learnt scale. An autoencoder: it encodes "
                      "and decodes, and generates no samples.")

    def __init__(self, config: TopoAEConfig, data_shape, latent_dim: int = 0):
        super().__init__(config, data_shape, latent_dim)
        hidden = (config.hidden,) * config.depth
        self.encoder = network(config, self.data_shape, self.latent_dim, hidden, config.activation)
        self.decoder = network(config, (self.latent_dim,), self.data_dim, hidden, config.activation,
                               out_shape=self.data_shape)
        self.latent_norm = torch.nn.Parameter(torch.ones(()))
        self.register_buffer("code_rms", torch.ones(()))

    def phases(self) -> List[Phase]:
        c = self.config
        return [OptimiserPhase("topo_ae", c.steps, self.parameters, self.loss, c.batch_size, c.lr)]

    def loss(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
        """``recon`` (batch mean of ‖f(g(x)) − x̂‖², standardised units) + λ ``topo`` (L_t over the batch size)."""
        xs = self.x_scale(x).reshape(len(x), -1)
        z = self.encoder(self.x_scale(x).reshape(-1, *self.data_shape))
        recon = (self.decoder(z).reshape(len(x), -1) - xs).pow(2).sum(1).mean()
        topo = topological_loss(xs, z, self.latent_norm.abs() + 1e-6) / len(x)
        with torch.no_grad():
            self.code_rms.copy_(z.pow(2).sum(1).mean().sqrt().clamp_min(1e-6))
        return {"loss": recon + self.config.topo_weight * topo, "recon": recon, "topo": topo}

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.x_scale(x).reshape(-1, *self.data_shape))

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.x_scale.inverse(self.decoder(z.flatten(1)))

    @property
    def walk_scale(self) -> float:
        return float(self.config.walk_noise * self.code_rms)
