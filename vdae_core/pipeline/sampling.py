"""Sampling front-ends shared by the CLI and the UI: random walks, bursts, prior samples."""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from vdae_core.foundation.errors import UserInputError
from vdae_core.models.base import GenerativeModel


def generator(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(int(seed))
    return g


def start_points(X: np.ndarray, n: int, start: Optional[int], seed: int) -> np.ndarray:
    """Walker start points, (n, m): all at training point ``start``, or random training points if None."""
    if start is not None:
        if not 0 <= start < len(X):
            raise UserInputError(f"--start {start} is out of range: the training set has {len(X)} points (0..{len(X) - 1})")
        return np.repeat(X[start:start + 1], n, axis=0)
    idx = np.random.default_rng(seed).integers(0, len(X), n)
    return X[idx]


def random_walk(model: GenerativeModel, X: np.ndarray, n: int, steps: int, start: Optional[int] = None,
                seed: int = 0, start_point: Optional[np.ndarray] = None) -> np.ndarray:
    """Trajectories of ``n`` walkers for ``steps`` steps (paper Algorithm 2): array (steps + 1, n, m).

    Walkers start at training point ``start`` (an index into ``X``), at ``start_point`` (any point,
    shape (m,), e.g. a mesh vertex), or at random training points when both are None.
    """
    if n < 1 or steps < 0:
        raise UserInputError("need n >= 1 walkers and steps >= 0")
    if start_point is not None:
        if start is not None:
            raise UserInputError("give a start index or a start point, not both")
        from vdae_core.foundation.validation import check_array

        x0 = np.repeat(check_array(start_point, "walk start", width=X.shape[1], allow_vector=True)[:1], n, axis=0)
    else:
        x0 = start_points(X, n, start, seed)
    return model.random_walk(x0, steps, generator(seed))


def burst(model: GenerativeModel, x0: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` one-step samples from the single point ``x0`` (m,): array (n, m)."""
    return model.burst(x0, n, generator(seed))


def prior_samples(model: GenerativeModel, n: int, seed: int = 0) -> np.ndarray:
    """``n`` samples by the model's own generative process: array (n, m)."""
    return model.sample(n, generator(seed))


def class_conditional_walks(model: GenerativeModel, X: np.ndarray, labels: np.ndarray, per_class: int = 10,
                            steps: int = 10, seed: int = 0):
    """Walks started on each class (the VDAE paper's cluster-conditional sampling).

    ``per_class`` training points of every label (drawn with ``seed``; all of a class if it has fewer) each
    start one walker of ``steps`` steps.

    Returns
    -------
    walk : ndarray (steps + 1, w, m)
    start_labels : ndarray (w,)
    """
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(X):
        raise UserInputError(f"{len(labels)} labels for {len(X)} points")
    rng = np.random.default_rng(seed)
    starts = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in np.unique(labels)])
    return model.random_walk(X[starts], steps, generator(seed)), labels[starts]
