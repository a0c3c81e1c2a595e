"""The classical manifold learners as encoder-only models (issue 32, part 3): PCA, Isomap, LLE (scikit-learn),
the exact diffusion map (:mod:`vdae_core.geometry.diffusion_maps`), PHATE (the ``phate`` package), UMAP
(umap-learn) and t-SNE (scikit-learn).

Each embeds the training points once (:class:`~vdae_core.models.embedding.EmbeddingModel`); new points are
encoded by the barycentric extension (PCA: its exact linear map). Their latent dimension follows the same data
rule as every model's (``latent_dim`` 0: the dataset's D), except t-SNE's, at most 3 (scikit-learn's
Barnes–Hut t-SNE embeds in at most 3 dimensions). None decodes or generates: their rows in a comparison carry
the maps' metrics (tears, folds, bi-Lipschitz of the map, trustworthiness, continuity, persistence of the codes,
RTD) and no sample metrics.
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import torch

from vdae_core.foundation.config import param
from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import MODELS
from vdae_core.models.embedding import EmbeddingConfig, EmbeddingModel

def fixed_signs(Z: np.ndarray) -> np.ndarray:
    """Eigenvector codes with each column's sign fixed (its largest entry in absolute value positive): an
    eigensolver may return either sign, and a seed should give one answer."""
    pick = np.abs(Z).argmax(0)
    return Z * np.sign(Z[pick, np.arange(Z.shape[1])] + (Z[pick, np.arange(Z.shape[1])] == 0))


_NOTE = " New points are encoded by the barycentric extension (LLE's reconstruction weights over the k nearest " \
        "training points, applied to their codes). No decoder, no samples."


@MODELS.register("pca", help="PCA: the linear projection onto the top principal axes (encoder only).")
class PCAModel(EmbeddingModel):
    name = "pca"
    title = "PCA"
    training_notes = ("One step: scikit-learn's PCA of the training points (exact SVD); codes = the projections onto "
                      "the top D principal axes, and new points are projected the same way. No decoder, no samples.")

    within_data_dim = True  # PCA has no more axes than the data

    def __init__(self, config, data_shape, latent_dim: int = 0):
        super().__init__(config, data_shape, latent_dim)
        self.register_buffer("mean", torch.zeros(self.data_dim, dtype=torch.float64))
        self.register_buffer("axes", torch.zeros(self.latent_dim, self.data_dim, dtype=torch.float64))

    def fit_codes(self, X: np.ndarray, seed: int) -> np.ndarray:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=self.latent_dim, svd_solver="full").fit(X)
        self.mean = torch.as_tensor(pca.mean_, device=self.mean.device)
        self.axes = torch.as_tensor(pca.components_, device=self.axes.device)
        return pca.transform(X)

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.X_fit) == 0:
            raise UserInputError("PCA has not been fitted: train it first")
        return ((x.double() - self.mean) @ self.axes.T).float()


@MODELS.register("isomap", help="Isomap: classical MDS of kNN-graph geodesic distances (encoder only).")
class IsomapModel(EmbeddingModel):
    name = "isomap"
    title = "Isomap"
    training_notes = ("One step: scikit-learn's Isomap (Tenenbaum et al. 2000): shortest paths on the k-nearest-"
                      "neighbour graph, then classical MDS to D dimensions." + _NOTE)

    def fit_codes(self, X: np.ndarray, seed: int) -> np.ndarray:
        from sklearn.manifold import Isomap

        return fixed_signs(Isomap(n_neighbors=int(self.config.neighbours), n_components=self.latent_dim,
                                  eigen_solver="dense" if len(X) <= 3000 else "arpack").fit_transform(X))


@dataclasses.dataclass(frozen=True)
class LLEConfig(EmbeddingConfig):
    """LLE needs more neighbours than latent dimensions."""

    neighbours: int = param(12, help="k: neighbours each point is rebuilt from (raised to the latent dimension + 1 "
                                     "where it is not more), and of the out-of-sample extension.", min=2, max=500)


@MODELS.register("lle", help="Locally linear embedding (encoder only).")
class LLEModel(EmbeddingModel):
    name = "lle"
    title = "LLE"
    config_class = LLEConfig
    within_data_dim = True  # scikit-learn's LLE embeds in at most the data's dimension
    training_notes = ("One step: scikit-learn's standard LLE (Roweis & Saul 2000): each point rebuilt from its k "
                      "neighbours, codes that keep those weights (the bottom eigenvectors of (I − W)ᵀ(I − W))."
                      + _NOTE)

    def fit_codes(self, X: np.ndarray, seed: int) -> np.ndarray:
        from sklearn.manifold import LocallyLinearEmbedding

        k = max(int(self.config.neighbours), self.latent_dim + 1)  # LLE needs more neighbours than dimensions
        return fixed_signs(LocallyLinearEmbedding(n_neighbors=k, n_components=self.latent_dim, random_state=seed,
                                                  eigen_solver="dense" if len(X) <= 2000 else "arpack"
                                                  ).fit_transform(X))


@dataclasses.dataclass(frozen=True)
class DiffusionMapConfig(EmbeddingConfig):
    neighbours: int = param(20, help="k of the kNN Gaussian graph — the VDAE's own default (its knn), so that this "
                                     "is the map SpectralNet learns there — and of the out-of-sample extension.",
                            min=2, max=500)
    diffusion_time: float = param(1.0, help="t of the coordinates μᵢᵗ φᵢ (0: the eigenvectors themselves).",
                                  min=0.0, max=1000.0)


@MODELS.register("diffusion_map", help="The exact diffusion map (encoder only): the VDAE's target, solved exactly.")
class DiffusionMapModel(EmbeddingModel):
    name = "diffusion_map"
    title = "diffusion map"
    config_class = DiffusionMapConfig
    training_notes = ("One step: the exact diffusion map (Coifman & Lafon 2006) of the kNN Gaussian affinity — the "
                      "first D non-trivial eigenvectors of the random-walk matrix, scaled by their eigenvalues to "
                      "the power t: the map SpectralNet learns inside the VDAE." + _NOTE)

    def fit_codes(self, X: np.ndarray, seed: int) -> np.ndarray:
        from vdae_core.geometry.diffusion_maps import diffusion_map

        dm = diffusion_map(X, n_components=self.latent_dim, k=int(self.config.neighbours))
        return fixed_signs(dm.embedding(float(self.config.diffusion_time)))


@dataclasses.dataclass(frozen=True)
class PHATEConfig(EmbeddingConfig):
    neighbours: int = param(5, help="k: PHATE's knn (its default 5), and of the out-of-sample extension.",
                            min=2, max=500)


@MODELS.register("phate", help="PHATE (the phate package): the diffusion map's potential distances, embedded by "
                               "MDS (encoder only).")
class PHATEModel(EmbeddingModel):
    name = "phate"
    title = "PHATE"
    config_class = PHATEConfig
    training_notes = ("One step: PHATE (Moon et al. 2019) — a diffusion operator on an adaptive kNN kernel, run for "
                      "its automatically chosen time, log 'potential' distances between the rows, embedded by metric "
                      "MDS; the diffusion map's closest relative in practice." + _NOTE)

    def fit_codes(self, X: np.ndarray, seed: int) -> np.ndarray:
        import contextlib
        import io
        import warnings

        import phate

        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")  # its MDS convergence notes
            return phate.PHATE(n_components=self.latent_dim, knn=int(self.config.neighbours), random_state=seed,
                               n_jobs=1, verbose=0).fit_transform(X)


@dataclasses.dataclass(frozen=True)
class UMAPConfig(EmbeddingConfig):
    neighbours: int = param(15, help="k: UMAP's n_neighbors (its default 15), and of the out-of-sample extension.",
                            min=2, max=500)
    min_dist: float = param(0.1, help="UMAP's min_dist: how tightly codes may pack (its default 0.1).",
                            min=0.0, max=10.0)


@MODELS.register("umap", help="UMAP (umap-learn), encoder only.")
class UMAPModel(EmbeddingModel):
    name = "umap"
    title = "UMAP"
    config_class = UMAPConfig
    training_notes = ("One step: umap-learn's UMAP (McInnes et al. 2018) with its seed (single-threaded, so the "
                      "codes repeat for a seed)." + _NOTE)

    def fit_codes(self, X: np.ndarray, seed: int) -> np.ndarray:
        import warnings

        import umap

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # umap-learn's notes on random_state and n_jobs
            return umap.UMAP(n_neighbors=int(self.config.neighbours), n_components=self.latent_dim,
                             min_dist=float(self.config.min_dist), random_state=seed).fit_transform(X)


@dataclasses.dataclass(frozen=True)
class TSNEConfig(EmbeddingConfig):
    perplexity: float = param(30.0, help="t-SNE's perplexity (at most a third of the points).", min=2.0, max=500.0)

    #: scikit-learn's Barnes–Hut t-SNE embeds in at most this many dimensions.
    MAX_DIM: ClassVar[int] = 3


@MODELS.register("tsne", help="t-SNE (scikit-learn), encoder only.")
class TSNEModel(EmbeddingModel):
    name = "tsne"
    title = "t-SNE"
    config_class = TSNEConfig
    training_notes = ("One step: scikit-learn's Barnes–Hut t-SNE (van der Maaten & Hinton 2008), initialised by PCA, "
                      "in at most 3 dimensions (the data's D, capped at 3). t-SNE has no map for new points; the "
                      "studio's barycentric extension stands in for one (openTSNE's transform is not a dependency). "
                      "No decoder, no samples.")

    @classmethod
    def latent_dim_for(cls, config, suggested, n: int) -> int:
        from vdae_core.models.base import resolve_latent_dim

        D = resolve_latent_dim(config, suggested, n)
        if config.latent_dim and D > TSNEConfig.MAX_DIM:
            raise UserInputError(f"t-SNE embeds in at most {TSNEConfig.MAX_DIM} dimensions (latent_dim={D})")
        return min(D, TSNEConfig.MAX_DIM)

    def fit_codes(self, X: np.ndarray, seed: int) -> np.ndarray:
        from sklearn.manifold import TSNE

        perplexity = min(float(self.config.perplexity), (len(X) - 1) / 3.0)
        return TSNE(n_components=self.latent_dim, perplexity=perplexity, init="pca", random_state=seed,
                    n_jobs=1).fit_transform(X)
