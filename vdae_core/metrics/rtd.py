"""Representation Topology Divergence (Barannikov et al., ICML 2022): how far the topology of codes departs
from the topology of the data they encode, for two clouds in one-to-one correspondence.

The R-Cross-Barcode₁(A, B) of paired clouds A (n, m) and B (n, d) is the H1 barcode of the Vietoris–Rips
filtration of one graph on 2n vertices (the paper's §3; its reference code's ``calc_embed_dist``): with each
distance matrix divided by its 90th percentile, r_A and r_B,

    [[ 0,    r_Aᵀ          ],
     [ r_A,  min(r_A, r_B) ]]

— the first copy of the vertices collapsed to one point, the second carrying the distances of B wherever they
are shorter than A's. A bar of it is a cluster or loop that B joins earlier than A does; identical clouds
give no bar of positive length. RTD(A, B) is the sum of the bars' lengths, symmetrised
(½[RTD(A, B) + RTD(B, A)]) and averaged over random batches of the pairs, as the reference code does.

ripser (the Vietoris–Rips library the studio uses for persistence) computes the barcode; the matrix and the
batching are written here because no maintained package ships RTD for the CPU (the authors' needs
ripserplusplus and a GPU).
"""
from __future__ import annotations

import numpy as np

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import METRICS


def _unit(X: np.ndarray) -> np.ndarray:
    """Pairwise distances of X (n, ·) divided by their 90th percentile (off the diagonal)."""
    from scipy.spatial.distance import pdist, squareform

    d = pdist(X)
    q = float(np.quantile(d, 0.9)) if d.size else 0.0
    if q <= 0:
        raise UserInputError("RTD: most pairs of points coincide (no scale to measure distances in)")
    return squareform(d / q)


def cross_barcode(A: np.ndarray, B: np.ndarray, dim: int = 1) -> np.ndarray:
    """The H_dim bars (k, 2) of R-Cross-Barcode(A, B) for paired clouds A (n, m), B (n, d)."""
    from ripser import ripser

    rA, rB = _unit(A), _unit(B)
    n = len(A)
    D = np.zeros((2 * n, 2 * n))
    D[n:, :n] = rA
    D[:n, n:] = rA.T
    D[n:, n:] = np.minimum(rA, rB)
    bars = ripser(D, maxdim=dim, distance_matrix=True)["dgms"][dim]
    return bars[np.isfinite(bars[:, 1])]


@METRICS.register("rtd", help="Representation Topology Divergence of codes against data (0: the same topology).")
def rtd(A, B, batch: int = 300, trials: int = 3, seed: int = 0) -> float:
    """Symmetrised RTD of paired clouds ``A`` (n, m) and ``B`` (n, d): the mean over ``trials`` random batches of
    ``batch`` pairs of ½[Σ bar lengths of R-Cross-Barcode₁(A, B) + the same of (B, A)].

    0 for clouds with equal distance matrices up to one scale (a rotation, a shift, a zoom); grows with each loop
    or cluster one cloud has and the other lacks. Costs one Vietoris–Rips H1 of 2·batch points per direction
    and trial.
    """
    A = np.asarray(A, dtype=np.float64).reshape(len(A), -1)
    B = np.asarray(B, dtype=np.float64).reshape(len(B), -1)
    if len(A) != len(B):
        raise UserInputError(f"RTD: {len(A)} points but {len(B)} codes (the clouds must be paired row by row)")
    if len(A) < 3:
        raise UserInputError(f"RTD needs at least 3 paired points, got {len(A)}")
    if not (np.isfinite(A).all() and np.isfinite(B).all()):
        raise UserInputError("RTD: the points or codes hold NaN or inf values")
    rng = np.random.default_rng(seed)
    size = min(int(batch), len(A))
    total = 0.0
    for _ in range(int(trials)):
        idx = rng.choice(len(A), size, replace=False) if size < len(A) else np.arange(len(A))
        a, b = A[idx], B[idx]
        total += 0.5 * sum(float(np.sum(bars[:, 1] - bars[:, 0])) for bars in (cross_barcode(a, b),
                                                                               cross_barcode(b, a)))
    return total / int(trials)


#: The batches the audits use: 3 batches of 200 pairs (about 2 s of the 2,000-point audit on this project's CPU,
#: docs/BENCHMARKS.md; the reference code's 10 of 500 would take a minute or more). RTD grows with the batch size (more pairs, more small bars), so values compare
#: only at the same settings, which the reports carry.
BATCH, TRIALS = 200, 3


def rtd_summary(X, Z, seed: int = 0) -> dict:
    """RTD of codes ``Z`` (n, d) against the data ``X`` (n, m) at the audits' settings, as a JSON-ready dict
    {``value``, ``batch``, ``trials``, ``n_points``}."""
    return {"value": rtd(X, Z, BATCH, TRIALS, seed), "batch": min(BATCH, len(X)), "trials": TRIALS,
            "n_points": int(len(X))}
