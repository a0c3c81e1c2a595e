"""Encoder-only models: a manifold learner's embedding of the training points, as a model (issue 32, part 3).

A classical manifold learner (PCA, Isomap, LLE, the diffusion map, UMAP, t-SNE) has no decoder and generates
nothing; as a model it is its codes. :class:`EmbeddingModel` keeps the training points ``X_fit`` (n, m) and
their codes ``Z_fit`` (n, D) as buffers (a run folder saves them like any weights, loaded without unpickling),
trains in one phase that calls the learner's :meth:`EmbeddingModel.fit_codes`, and encodes

* a training point: its own code, exactly;
* any other point: the **barycentric extension** — the weights w (Σ w = 1) that best rebuild the point from
  its k nearest training points, min ‖x − Σ_j w_j x_j‖² (LLE's reconstruction weights, Roweis & Saul 2000,
  Eq. 2, with a ridge of 10⁻³ of the local Gram matrix's trace), applied to their codes. It is the
  out-of-sample rule LLE itself uses and the one that needs nothing of the learner but its codes, so every
  learner is extended alike; a learner with an exact map (PCA) overrides it.

The capabilities say what such a model lacks (no decoder, no samples, no prior): pages and commands that need
them say so in a sentence.
"""
from __future__ import annotations

import dataclasses
import time
from typing import ClassVar, Dict, List

import numpy as np
import torch

from vdae_core.foundation.config import param
from vdae_core.models.base import GenerativeModel, ModelConfig
from vdae_core.training.phases import Phase, TrainData

#: Ridge of the barycentric weights, as a fraction of the trace of the local Gram matrix.
RIDGE = 1e-3


@dataclasses.dataclass(frozen=True)
class EmbeddingConfig(ModelConfig):
    """Settings every encoder-only learner has."""

    neighbours: int = param(10, help="k: neighbours of the learner's graph where it builds one, and of the "
                                     "out-of-sample extension (a new point is rebuilt from its k nearest "
                                     "training points).", min=2, max=500)

    #: A learner fits once: a quick run is a whole run.
    QUICK_SCALE: ClassVar[float] = 1.0
    ESSENTIAL: ClassVar[tuple] = ("latent_dim", "neighbours", "diffusion_time", "min_dist", "perplexity", "device")


class FitPhase(Phase):
    """One step: the learner embeds all training points; the buffers take the points and their codes."""

    name = "fit"

    def __init__(self):
        super().__init__(1)

    def step(self, model: "EmbeddingModel", data: TrainData, i: int) -> Dict[str, float]:
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=data.generator))
        t0 = time.perf_counter()
        X = np.asarray(data.X_np, dtype=np.float64).reshape(data.n, -1)
        Z = np.asarray(model.fit_codes(X, seed), dtype=np.float64).reshape(data.n, -1)
        if Z.shape[1] != model.latent_dim or not np.isfinite(Z).all():
            raise RuntimeError(f"{model.title} returned codes of shape {Z.shape} with non-finite values "
                               f"{int((~np.isfinite(Z)).sum())}; expected (n, {model.latent_dim})")
        model.X_fit = torch.as_tensor(X, device=model.X_fit.device)
        model.Z_fit = torch.as_tensor(Z, device=model.Z_fit.device)
        return {"fit seconds": time.perf_counter() - t0}


class EmbeddingModel(GenerativeModel):
    """Base of the encoder-only learners: codes of the training points, extended to new points."""

    config_class = EmbeddingConfig
    has_decoder = False
    has_sampler = False
    has_prior = False
    random_init = False
    #: True for a learner that has no more dimensions than the data (PCA, LLE): the data's D is capped at the
    #: data's own dimension, and a larger latent_dim asked for is refused.
    within_data_dim: bool = False

    def __init__(self, config: EmbeddingConfig, data_shape, latent_dim: int = 0):
        if self.within_data_dim:
            from vdae_core.foundation.errors import UserInputError

            m = int(np.prod(np.atleast_1d(data_shape)))
            if config.latent_dim and config.latent_dim > m:
                raise UserInputError(f"{self.title}: latent_dim={config.latent_dim} exceeds the data's {m} "
                                     f"dimensions")
            latent_dim = min(int(latent_dim), m)
        super().__init__(config, data_shape, latent_dim)
        self.register_buffer("X_fit", torch.zeros(0, self.data_dim, dtype=torch.float64))
        self.register_buffer("Z_fit", torch.zeros(0, self.latent_dim, dtype=torch.float64))

    def fit_codes(self, X: np.ndarray, seed: int) -> np.ndarray:
        """The learner's codes of the training points ``X`` (n, m) -> (n, latent_dim)."""
        raise NotImplementedError

    def phases(self) -> List[Phase]:
        return [FitPhase()]

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The buffers' lengths are the training set's: take them from the saved state before copying.
        for name in ("X_fit", "Z_fit"):
            if prefix + name in state_dict:
                setattr(self, name, torch.zeros_like(state_dict[prefix + name], device=getattr(self, name).device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.X_fit) == 0:
            from vdae_core.foundation.errors import UserInputError

            raise UserInputError(f"{self.title} has not been fitted: train it first")
        from sklearn.neighbors import NearestNeighbors

        Xf, Zf = self.X_fit.cpu().numpy(), self.Z_fit.cpu().numpy()
        q = x.detach().cpu().numpy().astype(np.float64).reshape(len(x), -1)
        k = min(int(self.config.neighbours), len(Xf))
        dist, ind = NearestNeighbors(n_neighbors=k).fit(Xf).kneighbors(q)
        out = np.empty((len(q), Zf.shape[1]))
        exact = dist[:, 0] <= 1e-12 * max(1.0, float(np.abs(Xf).max()))
        out[exact] = Zf[ind[exact, 0]]
        rest = ~exact
        if rest.any():
            diff = Xf[ind[rest]] - q[rest, None, :]  # (r, k, m)
            G = diff @ diff.transpose(0, 2, 1)  # local Gram matrices (r, k, k)
            tr = np.trace(G, axis1=1, axis2=2)
            G += (RIDGE * np.maximum(tr, 1e-300))[:, None, None] * np.eye(k)
            w = np.linalg.solve(G, np.ones((rest.sum(), k, 1)))[..., 0]
            w /= w.sum(1, keepdims=True)
            out[rest] = np.einsum("rk,rkd->rd", w, Zf[ind[rest]])
        return torch.as_tensor(out, dtype=torch.float32, device=x.device)
