"""Gromov-Wasserstein discrepancy between two point clouds (POT)."""
from __future__ import annotations

from typing import Any, Dict

import numpy as np
import ot
from scipy.spatial.distance import pdist, squareform

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import METRICS
from vdae_core.foundation.validation import as_points, check_not_constant
from vdae_core.metrics.subsample import subsample_indices

# Cap on network-simplex iterations inside each conditional-gradient step. POT's default (1e5)
# is too small for 1000 x 1000 problems: it stops early with a warning and a sub-optimal
# direction, which costs more outer iterations than solving each step exactly.
_EMD_MAX_ITER = 1_000_000


#: The quantile of a cloud's pairwise distances that the robust GW takes as its unit (distances above it are
#: clipped to 1): one point in a thousand moves under 0.2% of the pairs, and none of them by more than 1.
ROBUST_QUANTILE = 0.99

SCALES = ("robust", "max")


def _normalised_distances(a: np.ndarray, what: str, scale: str) -> np.ndarray:
    check_not_constant(a, what)
    flat = pdist(a)
    d = squareform(flat)
    if scale == "max":  # the VDAE paper's (and its reference code's): the farthest pair decides the unit
        return d / d.max()
    unit = float(np.quantile(flat, ROBUST_QUANTILE))
    if unit <= 0:  # more than 99% of the pairs coincide: fall back on the largest distance
        unit = float(flat.max())
    return np.minimum(d / unit, 1.0)


@METRICS.register("gromov_wasserstein", help="Gromov-Wasserstein discrepancy between two point clouds (POT).")
def gromov_wasserstein(x, y, max_points: int = 1000, seed: int = 0, scale: str = "robust") -> Dict[str, Any]:
    """Gromov-Wasserstein discrepancy between two point clouds.

    Compares the two clouds as metric-measure spaces, so it is invariant to rotations,
    translations and reflections of either cloud, and ``x`` and ``y`` may live in different
    dimensions. Each cloud's Euclidean distance matrix is put in its own unit (so a uniform rescaling is
    invariant too): with ``scale="robust"`` the unit is the 99th percentile of its distances and larger
    entries are clipped to 1, C = min(D / q₀.₉₉(D), 1); with ``scale="max"`` (the VDAE paper's reference
    code) it is divided by its largest entry, C = D / max D, so that one stray point decides the unit of
    all (one sample of 1,000 at three radii of a circle multiplies the value by about 300, against 2.6 for
    the robust unit: docs/METHODS.md). Weights are uniform, and the loss is the square loss:

    ``GW = min_T sum_{i,j,k,l} (Cx_ik - Cy_jl)^2 T_ij T_kl``

    over couplings ``T`` with uniform marginals, solved by POT's ``ot.gromov.gromov_wasserstein2``
    (conditional gradient, a local method started from the independent coupling).

    Parameters
    ----------
    x : array_like, shape (n_x, m_x)
        First cloud (e.g. generated points).
    y : array_like, shape (n_y, m_y)
        Second cloud (e.g. real points).
    max_points : int
        Each side with more points than this is subsampled to ``max_points`` points, without
        replacement, with ``numpy.random.default_rng(seed)``. Memory and time grow as n^2 and
        roughly n^3.
    seed : int
        Seed of the subsampling.
    scale : str
        ``robust`` (default) or ``max``, the unit of each distance matrix (above).

    Returns
    -------
    dict
        ``value`` (float, the GW loss above, in [0, 1]; tiny negative round-off is clipped to 0),
        ``n_x``, ``n_y`` (int, points actually used on each side), ``subsampled`` (bool, whether
        either side was subsampled).

    Raises
    ------
    UserInputError
        For non-2-D or non-finite input, fewer than 2 points, a cloud whose points are all
        identical.
    """
    x = as_points(x, "gromov_wasserstein: x", min_points=2)
    y = as_points(y, "gromov_wasserstein: y", min_points=2)
    if scale not in SCALES:
        raise UserInputError(f"gromov_wasserstein: scale must be one of {SCALES}, got {scale!r}")
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)) or max_points < 2:
        raise UserInputError(f"gromov_wasserstein: max_points must be an integer >= 2, got {max_points!r}")
    ix = subsample_indices(x.shape[0], max_points, seed)
    iy = subsample_indices(y.shape[0], max_points, seed)
    subsampled = len(ix) < x.shape[0] or len(iy) < y.shape[0]
    x, y = x[ix], y[iy]
    cx = _normalised_distances(x, "gromov_wasserstein: x", scale)
    cy = _normalised_distances(y, "gromov_wasserstein: y", scale)
    p = np.full(x.shape[0], 1.0 / x.shape[0])
    q = np.full(y.shape[0], 1.0 / y.shape[0])
    value = ot.gromov.gromov_wasserstein2(cx, cy, p, q, loss_fun="square_loss", symmetric=True,
                                          numItermaxEmd=_EMD_MAX_ITER)
    return {
        "value": max(0.0, float(value)),
        "n_x": int(x.shape[0]),
        "n_y": int(y.shape[0]),
        "subsampled": bool(subsampled),
    }
