"""Codes made elsewhere, as a run the studio's pages open (issue 32, part 1).

An uploaded map (points and their codes, the *Audit any map* page) becomes an encoder-only run: its "training"
looks up each training point's code in the uploaded files (an exact match of the row), so the Latent page
(t-SNE/UMAP views, the point inspector), the Bi-Lipschitz page and the Topology audit read it like any other
run. New points are encoded by the barycentric extension of :class:`~vdae_core.models.embedding.EmbeddingModel`.
Without files (the registry's contract tests) the points are their own codes: the identity map, the audit's zero.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from vdae_core.foundation.config import param
from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import MODELS
from vdae_core.models.embedding import EmbeddingConfig, EmbeddingModel


@dataclasses.dataclass(frozen=True)
class ImportedCodesConfig(EmbeddingConfig):
    points_file: str = param("", help="The uploaded points (a path in this browser's private uploads).",
                             advanced=True)
    codes_file: str = param("", help="Their codes, row by row (same folder); empty: the points are their own "
                                     "codes.", advanced=True)


@MODELS.register("imported_codes", help="Codes made elsewhere, opened as a run (from the Audit any map page).",
                 listed=False)
class ImportedCodes(EmbeddingModel):
    name = "imported_codes"
    title = "imported codes"
    config_class = ImportedCodesConfig
    training_notes = ("Nothing is learnt: each training point takes its code from the uploaded codes file (the row "
                      "of the points file it matches exactly). New points are encoded by the barycentric extension. "
                      "No decoder, no samples.")

    @classmethod
    def latent_dim_for(cls, config, suggested, n: int) -> int:
        return int(config.latent_dim)  # the codes file's width, set by the page (0: the points' own dimension)

    def __init__(self, config: ImportedCodesConfig, data_shape, latent_dim: int = 0):
        m = int(np.prod(np.atleast_1d(data_shape)))
        super().__init__(config, data_shape, int(latent_dim) or m)

    def fit_codes(self, X: np.ndarray, seed: int) -> np.ndarray:
        if not self.config.codes_file:
            return np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        from sklearn.neighbors import NearestNeighbors

        from vdae_core.data import read_codes, read_points

        P = np.asarray(read_points(self.config.points_file), dtype=np.float64)
        C = np.asarray(read_codes(self.config.codes_file), dtype=np.float64)
        if len(P) != len(C):
            raise UserInputError(f"{len(P)} points but {len(C)} codes in the uploaded files")
        dist, idx = NearestNeighbors(n_neighbors=1).fit(P).kneighbors(np.asarray(X, dtype=np.float64))
        if dist.max() > 1e-5 * max(1.0, float(np.abs(P).max())):
            raise UserInputError("a training point is not a row of the uploaded points file")
        return C[idx[:, 0]]
