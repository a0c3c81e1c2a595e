"""The computations behind the app's views, as plain functions (arrays and models in, arrays out).

The pages call these (through caching wrappers in :mod:`vdae_core.ui.cache`) so that no maths lives in
a page, and scripts/tests can call them directly. Walk comparisons live with the other walk diagnostics
(:mod:`vdae_core.study.diagnostics`), aggregation over runs with the comparison (:mod:`vdae_core.study.compare`), and
the per-run metrics cache in :mod:`vdae_core.study.evaluation_cache`.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.validation import MIN_DISTINCT_POINTS

#: Largest n for which the Data page computes the exact diffusion map interactively.
EXACT_DM_MAX_POINTS = 5000


# -- display coordinates --------------------------------------------------------------------------
def display_coords(X: np.ndarray, max_dim: int = 3, seed: int = 0) -> Tuple[np.ndarray, List[str]]:
    """Coordinates to draw ``X`` (n, m): itself when m <= 3, else its first three principal components.

    Returns
    -------
    P : ndarray (n, min(m, 3))
    axis_names : list of str
    """
    proj = DisplayProjection(X, max_dim, seed)
    return proj(X), proj.axis_names


class DisplayProjection:
    """The map from data space to drawing coordinates: identity for m <= 3, else the top three principal
    components of the data it was fitted on (apply it to walks and samples to draw them with the data)."""

    def __init__(self, X: np.ndarray, max_dim: int = 3, seed: int = 0):
        X = np.asarray(X, dtype=np.float64)
        self.m = X.shape[1]
        self.max_dim = max_dim
        if self.m <= max_dim:
            self.mean, self.components = None, None
            self.axis_names = ["x", "y", "z"][:self.m]
            return
        self.mean = X.mean(0)
        Xc = X - self.mean
        sub = Xc if len(Xc) <= 5000 else Xc[np.random.default_rng(seed).choice(len(Xc), 5000, replace=False)]
        _, s, Vt = np.linalg.svd(sub, full_matrices=False)
        var = s ** 2 / max((s ** 2).sum(), 1e-300)
        self.components = Vt[:max_dim]
        self.axis_names = [f"PC{j + 1} ({100 * var[j]:.0f}%)" for j in range(max_dim)]

    def __call__(self, Y: np.ndarray, pad3: bool = False) -> np.ndarray:
        """Drawing coordinates of points ``Y`` (..., m) -> (..., min(m, 3)); ``pad3`` appends zero columns
        up to 3 (to draw 1-D/2-D data in a 3-D scene)."""
        Y = np.asarray(Y, dtype=np.float64)
        P = Y if self.components is None else (Y - self.mean) @ self.components.T
        if pad3 and P.shape[-1] < 3:
            P = np.concatenate([P, np.zeros(P.shape[:-1] + (3 - P.shape[-1],))], axis=-1)
        return P


def colour_options(params: np.ndarray, param_names: Sequence[str],
                   periodic: Sequence[bool]) -> Dict[str, Tuple[np.ndarray, bool]]:
    """Ground-truth colourings by name: ``{name: (values (n,), periodic)}``."""
    return {str(n): (np.asarray(params)[:, j], bool(periodic[j])) for j, n in enumerate(param_names)}


def exact_diffusion(X: np.ndarray, n_components: int = 3, k: int = 10, max_points: int = EXACT_DM_MAX_POINTS):
    """The exact diffusion map for the Data page's teaching view (limited to ``max_points`` points).

    Raises
    ------
    UserInputError
        Too many points (with what to do), or a degenerate point set.
    """
    from vdae_core.geometry.diffusion_maps import diffusion_map

    n = len(X)
    if n > max_points:
        raise UserInputError(f"the exact diffusion map is shown for up to {max_points:,} points and this data has "
                             f"{n:,}: lower the number of points to see it (SpectralNet, which the models use, "
                             "has no such limit)")
    if n < MIN_DISTINCT_POINTS:
        raise UserInputError(f"the exact diffusion map needs at least {MIN_DISTINCT_POINTS} points")
    return diffusion_map(np.asarray(X, dtype=np.float64), n_components=min(n_components, n - 2), k=min(k, n - 1))


def exact_transition(X: np.ndarray, k: int = 10, max_points: int = EXACT_DM_MAX_POINTS):
    """The random-walk matrix P = D⁻¹W that :func:`exact_diffusion` decomposes (same graph: same ``k``, clipped
    to n − 1 alike, same σ), for the Data page's transition rows (:func:`~vdae_core.geometry.diffusion_maps.
    transition_row`).

    Returns
    -------
    P : scipy.sparse.csr_matrix (n, n)
        Row-stochastic.

    Raises
    ------
    UserInputError
        Too many points, or too few (the limits of :func:`exact_diffusion`).
    """
    from vdae_core.geometry.diffusion_maps import transition_matrix

    n = len(X)
    if n > max_points:
        raise UserInputError(f"the random walk of the exact diffusion map is shown for up to {max_points:,} points "
                             f"and this data has {n:,}: lower the number of points to see it")
    if n < MIN_DISTINCT_POINTS:
        raise UserInputError(f"the exact diffusion map needs at least {MIN_DISTINCT_POINTS} points")
    return transition_matrix(np.asarray(X, dtype=np.float64), k=min(k, n - 1))[0]


# -- latent views ----------------------------------------------------------------------------------
def latent_plane(model, Z: np.ndarray) -> Tuple[np.ndarray, List[str]]:
    """Two display coordinates of codes ``Z`` (n, *latent_space.shape) for 2-D latent views.

    R^D: its first two coordinates; a latent whose points live in the plane (S¹): the points themselves;
    other manifolds: their first two intrinsic coordinates (angles, axis-angle...).

    Returns
    -------
    P : ndarray (n, 2), names : list of 2 str
    """
    space = model.latent_space
    Z = np.asarray(Z, dtype=np.float64)
    if space.shape == (2,) or not space.is_compact:
        P = Z.reshape(len(Z), -1)
        names = [f"z{j + 1}" for j in range(min(2, P.shape[1]))]
    else:
        P = model.latent_coords(Z)
        names = list(space.coord_names[:2])
    if P.shape[1] == 1:
        return np.column_stack([P[:, 0], np.zeros(len(P))]), names + ["0"]
    return P[:, :2], names[:2]


def decoded_grid(model, Z: np.ndarray, g: int = 15, margin: float = 0.05) -> Tuple[np.ndarray, np.ndarray]:
    """Decode a g x g grid spanning the 2-D latent codes ``Z`` (n, 2).

    Returns
    -------
    grid_z : ndarray (g*g, 2), row-major (z2 slow, z1 fast)
    decoded : ndarray (g*g, m)
    """
    Z = np.asarray(Z, dtype=np.float64)
    if Z.shape[1] != 2:
        raise UserInputError(f"a decoded grid needs a 2-D latent (this one is {Z.shape[1]}-D)")
    lo, hi = Z.min(0), Z.max(0)
    pad = margin * (hi - lo)
    a = np.linspace(lo[0] - pad[0], hi[0] + pad[0], g)
    b = np.linspace(lo[1] - pad[1], hi[1] + pad[1], g)
    A, B = np.meshgrid(a, b)
    grid = np.column_stack([A.ravel(), B.ravel()]).astype(np.float32)
    return grid, model.decode(grid)


def joint_embedding_for_model(model, X: np.ndarray, method: str, n: int = 500, seed: int = 0, **params):
    """One t-SNE/UMAP embedding of ``n`` real points and ``n`` points generated by ``model``; ``params`` go to the
    embedder (t-SNE: ``perplexity``; UMAP: ``n_neighbors``, ``min_dist``).

    Returns
    -------
    emb_real, emb_gen : ndarray (n', 2)
    idx_real : ndarray of int (rows of X embedded)
    """
    import torch

    from vdae_core.study.embeddings import joint_embedding

    gen = model.sample(int(n), torch.Generator().manual_seed(int(seed)))
    er, eg, ir, _ = joint_embedding(X, gen, method=method, seed=int(seed), max_points=int(n), return_indices=True,
                                    **params)
    return er, eg, ir


# -- bi-Lipschitz ------------------------------------------------------------------------------------
@dataclasses.dataclass
class BilipResult:
    """Per-point bi-Lipschitz constants of the decoder on a subset of the data.

    ``idx`` rows of X evaluated (for a generator without encoder: the data point nearest each generated
    point); ``z`` their codes (n, ...); ``raw``/``scale_free`` the constants (n,); ``points`` the data-space
    point of each row (n, m): the data point, or the generated one when ``generated``.
    """

    idx: np.ndarray
    z: np.ndarray
    raw: np.ndarray
    scale_free: np.ndarray
    k: int
    points: Optional[np.ndarray] = None
    generated: bool = False

    def summary(self, which: str = "raw") -> Dict[str, float]:
        v = self.raw if which == "raw" else self.scale_free
        fin = v[np.isfinite(v)]
        return {"median": float(np.median(v)), "mean": float(fin.mean()) if fin.size else math.inf,
                "max": float(v.max()), "n_inf": int((~np.isfinite(v)).sum()), "n": int(v.size)}


def per_point_bilipschitz(model, X: np.ndarray, k: int = 10, n_points: int = 1500, seed: int = 0) -> BilipResult:
    """Encode a seeded subset of ``X``, decode the codes, and compute bi-Lipschitz constants of the decoder
    over the k latent neighbours (raw and scale-free, as in ``evaluate_model``); on a manifold latent the
    latent distances are geodesic. A model without a decoder: the constants of the map z_i -> x_i."""
    from vdae_core.metrics.subsample import subsample_indices
    from vdae_core.metrics.bilipschitz import bilipschitz_both, geodesic_latent

    if not getattr(model, "has_encoder", True):
        # No codes of data points (WGAN-GP): the generator's own (noise, point) pairs, as the VDAE paper does.
        import torch
        from sklearn.neighbors import NearestNeighbors

        z, x_gen = model.latent_pairs(X, int(n_points), torch.Generator().manual_seed(int(seed)))
        raw, sf = bilipschitz_both(z, x_gen, k=int(k), latent_space=geodesic_latent(model))
        near = NearestNeighbors(n_neighbors=1).fit(np.asarray(X)).kneighbors(x_gen, return_distance=False)[:, 0]
        return BilipResult(near, z, raw, sf, int(k), points=x_gen, generated=True)
    idx = subsample_indices(len(X), int(n_points), int(seed))
    z = model.encode(np.asarray(X)[idx])
    # without a decoder (a manifold learner): the constants of the map itself, its inverse read at the points
    x_dec = model.decode(z) if getattr(model, "has_decoder", True) else np.asarray(X)[idx]
    raw, sf = bilipschitz_both(z, x_dec, k=int(k), latent_space=geodesic_latent(model))
    return BilipResult(idx, z, raw, sf, int(k), points=np.asarray(X)[idx])


@dataclasses.dataclass
class PointInspection:
    """One data point seen through a model (the Latent page's inspector).

    ``index`` of the point; ``data_neighbours`` and ``latent_neighbours`` its k nearest other points in the data
    and among the codes (k,); ``shared`` the fraction of the first found in the second (1: its neighbourhood is
    kept; near 0: torn away from its data neighbours or folded onto far ones); ``code`` its code (latent shape);
    ``reconstruction`` the decoder's output for that code (m,) and ``reconstruction_error`` its distance to the
    point, in units of the point's distance to its nearest data neighbour (about 1 is as close as the sampling
    allows).
    """

    index: int
    data_neighbours: np.ndarray
    latent_neighbours: np.ndarray
    shared: float
    code: np.ndarray
    reconstruction: np.ndarray
    reconstruction_error: float


def inspect_point(model, X: np.ndarray, Z: np.ndarray, index: int, k: int = 10) -> PointInspection:
    """Neighbours of point ``index`` of ``X`` (n, m) in the data and among its codes ``Z`` (n, *latent shape),
    and its reconstruction (decoder of its code). Codes are compared in their ambient coordinates (on a curved
    latent, chordal distances: the same neighbours as geodesic ones at this scale)."""
    from sklearn.neighbors import NearestNeighbors

    from vdae_core.foundation.errors import UserInputError

    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    C = np.asarray(Z, dtype=np.float64).reshape(len(Z), -1)
    n = len(X)
    if len(C) != n:
        raise UserInputError(f"{len(C)} codes for {n} points")
    i = int(index)
    if not 0 <= i < n:
        raise UserInputError(f"point {index} does not exist: the data has points 0 to {n - 1}")
    k = max(1, min(int(k), n - 1))

    def neighbours(A):
        nn = NearestNeighbors(n_neighbors=k + 1).fit(A).kneighbors(A[i:i + 1], return_distance=True)
        d, idx = nn[0][0], nn[1][0]
        keep = idx != i
        return idx[keep][:k], d[keep][:k]

    dn, dd = neighbours(X)
    ln, _ = neighbours(C)
    if getattr(model, "has_decoder", True):
        rec = np.asarray(model.decode(np.asarray(Z)[i:i + 1]), dtype=np.float64).reshape(-1)
    else:  # an encoder only: no reconstruction (NaN), the neighbourhoods still compare
        rec = np.full(X.shape[1], np.nan)
    spacing = float(dd[0]) if len(dd) and dd[0] > 0 else float("nan")
    err = float(np.linalg.norm(rec - X[i]) / spacing) if np.isfinite(spacing) else float("nan")
    return PointInspection(i, dn, ln, float(len(set(dn) & set(ln)) / k), np.asarray(Z)[i], rec, err)


def worst_points(values: np.ndarray, k: int = 10) -> np.ndarray:
    """Indices of the ``k`` largest values (infinite first), largest first."""
    v = np.asarray(values, dtype=np.float64)
    order = np.argsort(-np.where(np.isfinite(v), v, np.inf), kind="stable")
    return order[:k]


def coordinates_follow(coords: np.ndarray, params: np.ndarray, names: Sequence[str],
                       periodic: Sequence[bool]) -> List[Tuple[str, float]]:
    """How well the shown coordinates follow each ground-truth parameter, in [0, 1]:

    * a periodic parameter θ: the coordinates' linear fit of the point (cos θ, sin θ) on the circle,
      √(½ [R²(cos θ) + R²(sin θ)]) of a least-squares regression on the columns of ``coords`` (a coordinate pair
      that goes round the circle, rotated or not, scores 1);
    * another parameter: the largest of the absolute Spearman correlations with one column (a monotone coordinate
      scores 1) and the multiple correlation R of a linear fit on all columns (a rotated eigenvector pair or
      triple).

    Returns
    -------
    list of (name, score) in the parameters' order.
    """
    from scipy.stats import spearmanr

    C = np.asarray(coords, dtype=np.float64).reshape(len(coords), -1)
    A = np.column_stack([C, np.ones(len(C))])
    out = []
    for j, name in enumerate(names):
        p = np.asarray(params[:, j], dtype=np.float64)
        if periodic[j]:
            r2 = []
            for t in (np.cos(p), np.sin(p)):
                resid = t - A @ np.linalg.lstsq(A, t, rcond=None)[0]
                var = float(np.var(t))
                r2.append(max(0.0, 1.0 - float(np.var(resid)) / var) if var > 0 else 0.0)
            best = float(np.sqrt(np.mean(r2)))
        else:  # a monotone single coordinate, or a linear combination of them (a rotated eigenvector triple)
            rhos = [abs(float(spearmanr(c, p)[0])) for c in C.T if np.ptp(c) > 0 and np.ptp(p) > 0]
            var = float(np.var(p))
            lin = (1.0 - float(np.var(p - A @ np.linalg.lstsq(A, p, rcond=None)[0])) / var) if var > 0 else 0.0
            best = max([r for r in rhos if np.isfinite(r)] + [float(np.sqrt(max(lin, 0.0)))], default=0.0)
        out.append((str(name), best))
    return out


def follow_caption(follows: List[Tuple[str, float]], label: str = "these coordinates",
                   strong: float = 0.8, weak: float = 0.5) -> str:
    """One sentence from :func:`coordinates_follow`: which parameters the coordinates follow (score ≥ ``strong``),
    follow in part, and miss (score < ``weak``), with the numbers."""
    if not follows:
        return "This data has no ground-truth coordinates to compare with."
    got = [f"{n} ({r:.2f})" for n, r in follows if r >= strong]
    part = [f"{n} ({r:.2f})" for n, r in follows if weak <= r < strong]
    miss = [f"{n} ({r:.2f})" for n, r in follows if r < weak]
    bits = []
    if got:
        bits.append(f"follow {', '.join(got)}")
    if part:
        bits.append(f"follow {', '.join(part)} in part")
    if miss:
        bits.append(f"do not follow {', '.join(miss)}")
    tail = (": a smooth colour gradient shows them unrolled." if not (part or miss) else
            ": they show only part of the manifold; the rest appears in later coordinates (the suggested D counts "
            "how many are needed).")
    return f"{label} " + "; ".join(bits) + tail + " (Scores: 1 = the coordinates determine the parameter.)"
