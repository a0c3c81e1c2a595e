"""Circular correlation: is a latent angle a homeomorphic image of the true angle?

The Fisher–Lee coefficient (Fisher & Lee 1983, "A correlation coefficient for circular data")

    ρ_T = E[sin(a₁ − a₂) sin(b₁ − b₂)] / sqrt(E[sin²(a₁ − a₂)] E[sin²(b₁ − b₂)])

over independent pairs is invariant to rotating either angle, changes sign under reflecting one, and is
±1 exactly when b = ±a + c. So |ρ_T| is the circular correlation "after the best rotation/reflection".
Unlike the Jammalamadaka–SenGupta coefficient it needs no circular mean, which is undefined for the
uniform angles of a circle dataset. Scipy has no circular correlation; the closed form below (the pair
sum expanded into O(n) sums) is Fisher & Lee's own.
"""
from __future__ import annotations

import itertools
from typing import Dict

import numpy as np

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import METRICS


def _angles(a, what: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    if a.size < 3:
        raise UserInputError(f"{what}: a circular correlation needs at least 3 angles, got {a.size}")
    if not np.isfinite(a).all():
        raise UserInputError(f"{what}: contains NaN or inf")
    return a


@METRICS.register("circular_correlation", help="Fisher–Lee circular correlation of two angles (±1: b = ±a + c).")
def circular_correlation(a, b) -> float:
    """Fisher–Lee circular correlation ρ_T of paired angles.

    Parameters
    ----------
    a, b : array_like (n,)
        Angles in radians (any range).

    Returns
    -------
    float in [−1, 1]
        +1 for b = a + c, −1 for b = −a + c; near 0 for independent angles (and for a two-to-one map
        such as b = 2a); NaN when either angle is constant up to a half turn.
    """
    a, b = _angles(a, "first angle"), _angles(b, "second angle")
    if a.shape != b.shape:
        raise UserInputError(f"the two angles have different lengths ({a.size} and {b.size})")
    n = a.size
    ca, sa, cb, sb = np.cos(a), np.sin(a), np.cos(b), np.sin(b)
    A, B = (ca * cb).sum(), (sa * sb).sum()
    C, D = (ca * sb).sum(), (sa * cb).sum()
    E, F = np.cos(2 * a).sum(), np.sin(2 * a).sum()
    G, H = np.cos(2 * b).sum(), np.sin(2 * b).sum()
    den = (n * n - E * E - F * F) * (n * n - G * G - H * H)
    if den <= 0:
        return float("nan")
    return float(np.clip(4 * (A * B - C * D) / np.sqrt(den), -1.0, 1.0))


def torus_alignment(true_angles, latent_angles) -> Dict[str, object]:
    """|ρ_T| of each true angle with the latent angle it is paired with, under the best torus symmetry.

    The symmetries of S¹×S¹ that matter here are the swap of the two factors and a rotation/reflection of
    each (which |ρ_T| ignores); the pairing with the larger smaller-of-the-two correlation wins.

    Parameters
    ----------
    true_angles, latent_angles : array_like (n, 2)

    Returns
    -------
    dict with ``per_angle`` (list of 2 floats, in the order of the true angles), ``pairing`` (the latent
    column matched to each true angle) and ``min`` (the smaller of the two).
    """
    t = np.asarray(true_angles, dtype=np.float64)
    z = np.asarray(latent_angles, dtype=np.float64)
    if t.ndim != 2 or z.ndim != 2 or t.shape[1] != z.shape[1] or len(t) != len(z):
        raise UserInputError(f"torus_alignment needs two (n, k) angle arrays of one shape, got {t.shape}, {z.shape}")
    best = None
    for perm in itertools.permutations(range(z.shape[1])):
        r = [abs(circular_correlation(t[:, i], z[:, j])) for i, j in enumerate(perm)]
        if best is None or min(r) > min(best[0]):
            best = (r, list(perm))
    return {"per_angle": best[0], "pairing": best[1], "min": float(min(best[0]))}
