"""Did the model find the data's circles? The latent angle against the true angle, for every periodic
ground-truth coordinate of a dataset (a turntable's angle, a picture's two translations).

A latent space whose own coordinates are angles (S¹, the flat torus) is read through its intrinsic
coordinates. A Euclidean latent (VDAE's diffusion coordinates, a β-VAE's Gaussian) has no angle of its own:
a loop in it is read as the polar angle of the codes about their mean in each plane spanned by two of
their four leading principal components, and — for latents of more than two dimensions — in each plane of
two of their first four own coordinates (a whitened latent such as the diffusion coordinates has equal
variance in every direction, so its principal components are arbitrary mixtures: a VDAE's torus loop in the
(z1, z2) plane scored 0.31 on principal planes alone). The best of these candidates is kept for each true
angle (for 72 points of independent angles in R⁴ the largest of the 12 |ρ_T| stayed below 0.2 in 100 draws,
far from the 0.95 a found loop reaches: tests/test_image_manifolds.py); the floor shown beside the score is the same
maximum over the same candidates for shuffled truths. The
score is the Fisher–Lee |ρ_T| (:mod:`vdae_core.metrics.circular`): 1 when the latent angle is the true one
up to a rotation and a reflection, near 0 when the map folds the loop twice round or scrambles it.

It scores order, not closure: a loop cut at one point and laid out as an arc still scores 0.86 on a half
circle and 0.96 on an arc of 300° (tests/test_image_manifolds.py). Whether the loop is torn is the tear
detector's question (issue 14).
"""
from __future__ import annotations

import itertools
from typing import Dict, List, Tuple

import numpy as np

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import METRICS
from vdae_core.metrics.circular import circular_correlation, torus_alignment


def latent_angle_candidates(latent_space, Z: np.ndarray) -> Tuple[np.ndarray, List[str]]:
    """Angles (n, c) read from codes ``Z`` (n, *latent_space.shape), and a name for each column.

    Periodic intrinsic coordinates of the latent space come as they are; otherwise the polar angle of
    the centred codes in each plane of two of their (up to) four leading principal components.
    """
    Z = np.asarray(Z, dtype=np.float64).reshape(len(Z), -1)
    periodic = [i for i, p in enumerate(latent_space.coord_periodic) if p]
    if periodic:
        coords = np.asarray(latent_space.intrinsic_coords(Z), dtype=np.float64)
        return coords[:, periodic], [latent_space.coord_names[i] for i in periodic]
    if Z.shape[1] < 2:
        raise UserInputError("a 1-D Euclidean latent has no angle: a loop cannot be drawn on a line without a tear")
    C = Z - Z.mean(0)
    _, _, Vt = np.linalg.svd(C, full_matrices=False)
    P = C @ Vt[: min(4, Z.shape[1])].T
    pairs = list(itertools.combinations(range(P.shape[1]), 2))
    ang = [np.arctan2(P[:, j], P[:, i]) for i, j in pairs]
    names = [f"angle in the PC{i + 1}–PC{j + 1} plane" for i, j in pairs]
    if Z.shape[1] > 2:
        # The codes' own first coordinates too: a whitened latent (diffusion coordinates, orthonormal by
        # construction) has equal variance in every direction, so its principal components are arbitrary
        # mixtures and a loop that lives in the (z1, z2) plane is found in none of their planes.
        raw = list(itertools.combinations(range(min(4, Z.shape[1])), 2))
        ang += [np.arctan2(C[:, j], C[:, i]) for i, j in raw]
        names += [f"angle in the z{i + 1}–z{j + 1} plane" for i, j in raw]
    return np.stack(ang, 1), names


@METRICS.register("angle_recovery", help="|circular correlation| of each periodic true coordinate with the best "
                                         "latent angle (1: the loop is found, ordered; ~0: torn or folded).")
def angle_recovery(latent_space, Z: np.ndarray, params: np.ndarray, param_names, periodic) -> Dict[str, object]:
    """Circular correlation of each periodic ground-truth coordinate with the latent angle that fits it best.

    Parameters
    ----------
    latent_space : Manifold
        The model's latent space.
    Z : ndarray (n, *latent_space.shape)
        Codes of the points.
    params : ndarray (n, p)
        Ground truth; the columns with ``periodic`` True are angles.

    Returns
    -------
    dict with ``per_angle`` {true coordinate: |ρ_T|}, ``latent`` {true coordinate: the latent angle used}
    and ``min`` (the smallest |ρ_T|). With two periodic truths and two periodic latent angles (a torus)
    the pairing is the best of the factor swap (:func:`torus_alignment`); otherwise each true angle takes
    its best candidate.
    """
    params = np.asarray(params, dtype=np.float64)
    cols = [i for i, p in enumerate(periodic) if p]
    if not cols:
        raise UserInputError("the data has no periodic ground-truth coordinate to compare a latent angle with")
    if len(Z) != len(params):
        raise UserInputError(f"{len(Z)} codes for {len(params)} points")
    ang, names = latent_angle_candidates(latent_space, Z)
    return _match(ang, names, any(latent_space.coord_periodic), params, param_names, cols)


def _match(ang: np.ndarray, names, own_angles: bool, params: np.ndarray, param_names, cols) -> Dict[str, object]:
    """Score the candidate latent angles ``ang`` (n, c) against the periodic truth columns ``cols`` of
    ``params``; ``own_angles``: the candidates are the latent space's own coordinates (a torus pairs them)."""
    if len(cols) == 2 and ang.shape[1] == 2 and own_angles:
        out = torus_alignment(params[:, cols], ang)
        per = {param_names[c]: float(r) for c, r in zip(cols, out["per_angle"])}
        used = {param_names[c]: names[j] for c, j in zip(cols, out["pairing"])}
    else:
        per, used = {}, {}
        for c in cols:
            r = [abs(circular_correlation(params[:, c], ang[:, j])) for j in range(ang.shape[1])]
            j = int(np.nanargmax(r)) if np.isfinite(r).any() else 0
            per[param_names[c]], used[param_names[c]] = float(r[j]), names[j]
    return {"per_angle": per, "latent": used, "min": float(min(per.values()))}


def angle_recovery_floor(latent_space, Z: np.ndarray, params: np.ndarray, param_names, periodic, reps: int = 20,
                         seed: int = 0) -> float:
    """The score a latent unrelated to the truth gets: the 95th percentile of :func:`angle_recovery`'s
    ``min`` over ``reps`` random permutations of the points' ground truth (the codes kept), with ``seed``.

    A score is only evidence of a found loop well above this floor (about 0.1 for 72 points).
    """
    angle_recovery(latent_space, Z, params, param_names, periodic)  # the same checks and messages
    rng = np.random.default_rng(seed)
    params = np.asarray(params, dtype=np.float64)
    cols = [i for i, p in enumerate(periodic) if p]
    ang, names = latent_angle_candidates(latent_space, Z)  # the codes are fixed: their angles are read once
    own = any(latent_space.coord_periodic)
    null = [_match(ang, names, own, params[rng.permutation(len(params))], param_names, cols)["min"]
            for _ in range(int(reps))]
    return float(np.quantile(null, 0.95))
