"""Fidelity and diversity of generated samples: precision, recall, density, coverage; memorisation.

Precision/recall/density/coverage follow Naeem et al. (2020), "Reliable fidelity and diversity metrics
for generative models" (ICML), Eqs. 1-4, with k-nearest-neighbour balls in the data space. The
``prdc`` package computes the same from a dense (N, M) distance matrix; here the distances are formed in
blocks (memory O(block · max(N, M))) with scipy's ``cdist``, for the radii as well as for the ball tests, so
that a point at exactly the k-th neighbour distance is inside the ball (scikit-learn's dot-product
distances round differently in its neighbour search and its pairwise distances, which loses such points).
"""
from __future__ import annotations

from typing import Dict

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.neighbors import NearestNeighbors

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.validation import as_points

_BLOCK = 2048


def knn_radii(X: np.ndarray, k: int) -> np.ndarray:
    """Distance of each row of ``X`` (n, m) to its k-th nearest other row: array (n,)."""
    out = np.empty(len(X))
    for a in range(0, len(X), _BLOCK):
        out[a:a + _BLOCK] = np.partition(cdist(X[a:a + _BLOCK], X), k, axis=1)[:, k]  # column 0 is the point itself
    return out


def prdc(real, fake, k: int = 5) -> Dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` against ``real``.

    With r_i the distance of real point i to its k-th nearest real neighbour and s_j that of fake j
    among the fakes, B(c, r) the closed ball:

    - precision = (1/M) Σ_j 1[f_j ∈ ∪_i B(x_i, r_i)]            (Naeem et al. Eq. 1)
    - recall    = (1/N) Σ_i 1[x_i ∈ ∪_j B(f_j, s_j)]            (Eq. 2)
    - density   = (1/(kM)) Σ_j Σ_i 1[f_j ∈ B(x_i, r_i)]          (Eq. 3; about 1 when fake ~ real)
    - coverage  = (1/N) Σ_i 1[min_j |x_i − f_j| ≤ r_i]            (Eq. 4)

    Parameters
    ----------
    real : array_like, shape (N, m)
        Reference points (held out, never the training set).
    fake : array_like, shape (M, m)
        Generated points.
    k : int
        Neighbourhood size (the paper uses 5).

    Returns
    -------
    dict
        ``precision``, ``recall``, ``coverage`` in [0, 1]; ``density`` >= 0.
    """
    X = as_points(real, "prdc: real", min_points=2)
    F = as_points(fake, "prdc: fake", min_points=2)
    if X.shape[1] != F.shape[1]:
        raise UserInputError(f"prdc: real has {X.shape[1]} coordinates, fake {F.shape[1]}")
    if not (isinstance(k, (int, np.integer)) and 1 <= k < min(len(X), len(F))):
        raise UserInputError(f"prdc: k must be an integer in [1, {min(len(X), len(F)) - 1}], got {k!r}")
    r = knn_radii(X, int(k))                                   # (N,)
    s = knn_radii(F, int(k))                                   # (M,)
    in_real_balls = np.zeros(len(F), dtype=np.int64)           # per fake: how many real balls hold it
    real_covered = np.zeros(len(X), dtype=bool)                # per real: a fake inside its own ball
    real_recalled = np.zeros(len(X), dtype=bool)               # per real: inside some fake ball
    for a in range(0, len(X), _BLOCK):
        D = cdist(X[a:a + _BLOCK], F)             # (b, M)
        inside = D <= r[a:a + _BLOCK, None]
        in_real_balls += inside.sum(0)
        real_covered[a:a + _BLOCK] = inside.any(1)
        real_recalled[a:a + _BLOCK] = (D <= s[None, :]).any(1)
    return {"precision": float(np.mean(in_real_balls > 0)), "recall": float(real_recalled.mean()),
            "density": float(in_real_balls.sum() / (k * len(F))), "coverage": float(real_covered.mean())}


def memorisation_ratio(samples, train, heldout) -> float:
    """Median distance of samples to the nearest training point over that to the nearest held-out point.

    ``train`` and ``heldout`` must hold the same number of points (nearest-neighbour distances shrink
    with the size of the set). A sampler of the data's law that never saw the training set gives about
    1; one that copies or hugs training points gives less (0 for an exact copy).

    Parameters
    ----------
    samples : array_like, shape (M, m)
    train, heldout : array_like, shape (n, m) each

    Returns
    -------
    float
        The ratio (0 where every sample is a training point; inf never: a held-out distance of 0 is
        replaced by the smallest positive float).
    """
    G = as_points(samples, "memorisation: samples", min_points=1)
    T = as_points(train, "memorisation: train", min_points=1)
    H = as_points(heldout, "memorisation: heldout", min_points=1)
    if len(T) != len(H):
        raise UserInputError(f"memorisation: train and heldout must have the same size, got {len(T)} and {len(H)}")
    if not G.shape[1] == T.shape[1] == H.shape[1]:
        raise UserInputError("memorisation: samples, train and heldout must have the same number of coordinates")
    dt = NearestNeighbors(n_neighbors=1).fit(T).kneighbors(G)[0][:, 0]
    dh = NearestNeighbors(n_neighbors=1).fit(H).kneighbors(G)[0][:, 0]
    return float(np.median(dt) / max(np.median(dh), np.finfo(float).tiny))


def off_data_share(samples, reference, quantile: float = 0.99, factor: float = 3.0) -> float:
    """Share of ``samples`` (M, m) farther from ``reference`` (n, m) than ``factor`` times the ``quantile`` of the
    reference's own nearest-neighbour gaps (each reference point to its nearest other point): the outliers.

    An exact sampler of the reference's law scores about 0: on a curve, where a point's distance to its
    nearest reference point is exponential, P(d > 3 q₀.₉₉) = 0.01³ = 1e-6, and less in more dimensions. One
    sample far off the data in 1,000 scores exactly 0.001, on any data — no closed-form manifold is needed.
    """
    G = as_points(samples, "off_data: samples", min_points=1)
    R = as_points(reference, "off_data: reference", min_points=3)
    gaps = NearestNeighbors(n_neighbors=2).fit(R).kneighbors(R)[0][:, 1]
    d = NearestNeighbors(n_neighbors=1).fit(R).kneighbors(G)[0][:, 0]
    return float(np.mean(d > factor * np.quantile(gaps, quantile)))
