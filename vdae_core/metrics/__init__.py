"""Quality metrics for learned maps and generated samples.

Every metric is a pure function, arrays in and plain numbers or arrays out, registered in
:data:`vdae_core.foundation.registry.METRICS`:

``bilipschitz``
    Per-point bi-Lipschitz constant of a decoder over latent k-nearest neighbours.
``gromov_wasserstein``
    Gromov-Wasserstein discrepancy between two point clouds (POT), possibly of different dimensions.
``mmd``
    Squared maximum mean discrepancy, Gaussian kernel, median-heuristic bandwidth.
``circular_correlation``
    Fisher–Lee correlation of two angles (is a latent angle a homeomorphic image of the true one?).
``angle_recovery``
    |ρ_T| of each periodic true coordinate with the best latent angle (did the model find the loop?).
``walk_class_retention``
    Share of random-walk samples a kNN classifier gives the start's label (cluster-conditional sampling).
``trustworthiness`` / ``continuity``
    Neighbourhood preservation of latent codes (scikit-learn).
``persistence``
    Persistence diagrams (ripser) and Betti numbers read off at a stated threshold.
``tears_folds``
    Data neighbours cut apart by an encoder, latent neighbours glued from far apart.
``prior_holes``
    Prior mass with no encoded data behind it, and how far its decodings land from the data.

:func:`evaluate_model` runs them all on a trained model. Invalid input (wrong shape, NaN/inf,
too few points, all points identical, mismatched lengths) raises
:class:`vdae_core.foundation.errors.UserInputError`, a ``ValueError``.
"""
from __future__ import annotations

from vdae_core.metrics.bilipschitz import bilipschitz, bilipschitz_summary
from vdae_core.metrics.circular import circular_correlation, torus_alignment
from vdae_core.metrics.angle_recovery import angle_recovery, angle_recovery_floor, latent_angle_candidates
from vdae_core.metrics.class_retention import walk_class_retention
from vdae_core.metrics.gromov_wasserstein import gromov_wasserstein
from vdae_core.metrics.mmd import mmd
from vdae_core.metrics.trustworthiness import continuity, trustworthiness
from vdae_core.metrics.persistence import persistence
from vdae_core.metrics.prior_holes import prior_holes
from vdae_core.metrics.tears import tears_and_folds
from vdae_core.metrics.evaluate import evaluate_model, evaluation_subset

__all__ = [
    "bilipschitz",
    "bilipschitz_summary",
    "circular_correlation",
    "torus_alignment",
    "angle_recovery",
    "angle_recovery_floor",
    "latent_angle_candidates",
    "walk_class_retention",
    "gromov_wasserstein",
    "mmd",
    "trustworthiness",
    "continuity",
    "evaluate_model",
    "evaluation_subset",
]
