"""Fréchet distance between two clouds of feature vectors, each summarised by a Gaussian.

    FD = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2})

the squared 2-Wasserstein distance between N(μ₁, Σ₁) and N(μ₂, Σ₂) (Dowson & Landau 1982); Heusel et al. (2017)
compute it in the features of an Inception network and call it FID. The studio computes it in the features of a
network it trains itself on the dataset (:mod:`vdae_core.study.image_fd`), so its numbers are never FIDs and are
comparable only within one dataset and feature network.
"""
from __future__ import annotations

import numpy as np
from scipy import linalg

from vdae_core.foundation.errors import UserInputError


def _psd_sqrt(S: np.ndarray) -> np.ndarray:
    w, V = linalg.eigh(S)
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


def gaussian_frechet(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """FD between N(mu1, cov1) and N(mu2, cov2); means (d,), covariances (d, d), symmetric positive semi-definite.

    Tr (Σ₁ Σ₂)^{1/2} is taken as Tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2} (the two matrices are similar), the square roots of
    symmetric matrices by ``scipy.linalg.eigh``: no complex round-off, and exact for singular covariances (ReLU
    features with a dead unit)."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    cov1, cov2 = np.atleast_2d(cov1).astype(np.float64), np.atleast_2d(cov2).astype(np.float64)
    r1 = _psd_sqrt(cov1)
    inner = r1 @ cov2 @ r1
    tr_covmean = float(np.sqrt(np.clip(linalg.eigvalsh(0.5 * (inner + inner.T)), 0.0, None)).sum())
    diff = mu1 - mu2
    return float(max(0.0, diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * tr_covmean))


def frechet_distance(F1: np.ndarray, F2: np.ndarray) -> float:
    """FD between the Gaussians fitted (mean, unbiased covariance) to feature rows ``F1`` (n1, d) and ``F2`` (n2, d).

    The estimate is biased upwards at finite n (it is not zero for two samples of one law), so compare numbers at
    one n, beside the floor of two real samples of that n."""
    F1, F2 = np.asarray(F1, dtype=np.float64), np.asarray(F2, dtype=np.float64)
    if F1.ndim != 2 or F2.ndim != 2 or F1.shape[1] != F2.shape[1]:
        raise UserInputError(f"feature arrays must be (n, d) with one d, got {F1.shape} and {F2.shape}")
    if min(len(F1), len(F2)) < 2:
        raise UserInputError("a Fréchet distance needs at least two feature vectors a side")
    if not (np.isfinite(F1).all() and np.isfinite(F2).all()):
        raise UserInputError("the features contain NaN or inf")
    return gaussian_frechet(F1.mean(0), np.cov(F1, rowvar=False), F2.mean(0), np.cov(F2, rowvar=False))
