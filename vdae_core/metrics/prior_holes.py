"""Prior holes: where a model's prior puts mass that its encoded data never visits (issue 14, part 2).

A VAE is trained so that the *aggregate posterior* q(z) — the codes of the training data — matches its prior
p(z), but the match is never exact: a β-VAE on a circle lays the data on a ring and leaves the middle of its
Gaussian prior empty. Codes drawn from such a **hole** decode to points the decoder never learned, typically
off the data manifold (between the arms of a spiral, inside a ring). Two measurements, per prior code z:

* the **density ratio** q(z)/p(z), estimated with k nearest neighbours (Loftsgaarden & Quesenberry 1965): with
  ρ_q(z), ρ_p(z) the distances from z to its k-th nearest encoded training code (of N) and to its k-th nearest
  other prior code (of M − 1), and d the intrinsic dimension of the latent space,

      q̂(z) / p̂(z) = (M − 1) ρ_p(z)^d / (N ρ_q(z)^d).

  Bandwidth rule: k = round(min(N, M)^(1/3)) clipped to [5, 30] (13 for 2,000 codes). That is smaller than
  the classical k ∝ √n because the ratio is read where q changes fastest, at the rim of a hole, where a larger
  ball reaches into the data and overstates q: with 4,000 codes of N(0, 0.6²I₂) against N(0, I₂), k = 45
  overestimates a true ratio of 10^-1.5 by 0.9 decades and k = 13 by 0.6, at a spread of 0.17 decades instead
  of 0.09 where the ratio is near 1 — far below the decade that makes a hole, so the floor stays at zero. The
  estimate errs towards finding no hole. Distances are taken in the latent's ambient coordinates (chordal on
  spheres and tori, equal to the
  geodesic to second order at kNN scale). A code is **in a hole** when q̂/p̂ < :data:`HOLE_RATIO` (the data's
  density there is below a tenth of the prior's).
* the decoded point's **distance to the data**, in data spacings: d(x̂, R) / s, with R the held-out reference
  and the spacing s the median distance from a point of R to its :data:`SPACING_K`-th nearest neighbour in R —
  the neighbourhood scale of the studio's kNN graphs (bi-Lipschitz, tears). A sample is **off the manifold**
  when it is farther than :data:`T_SPACINGS` spacings. (The nearest-neighbour distance itself is no unit: on a
  curve it shrinks as 1/n, and 2,000 fresh points of a circle lie beyond 3 of them from a second sample 15% of
  the time; beyond one 10-neighbour radius, 0.1–0.5% on circle and torus.)

A hole matters when its codes decode off the manifold: VDAE's walk codes leave ψ(X) (its perturbation has
components across the code curve) but its decoder projects them back (on the circle, quick preset: 45% of its
codes in a hole, none decoded off the data), while a 2-D β-VAE's hole codes decode 24 spacings from the circle.

Each share comes with its noise floor: the hole share when q is a second, independent draw of the prior (what a
perfectly matched aggregate posterior would show at these sample sizes), and the off-manifold share of samples
of the data's own law.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, Optional

import numpy as np
from sklearn.neighbors import NearestNeighbors

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import METRICS
from vdae_core.foundation.validation import as_points

#: A prior code is in a hole when the aggregate posterior's density there is below this share of the prior's.
HOLE_RATIO = 0.1
#: A decoded sample is off the manifold when it is farther from the data than this many data spacings.
T_SPACINGS = 1.0
#: The data spacing is the median distance from a reference point to its SPACING_K-th nearest neighbour.
SPACING_K = 10


def knn_k(n: int, m: int) -> int:
    """The bandwidth rule: k = round(min(n, m)^(1/3)) clipped to [5, 30] (and below both sizes)."""
    return int(max(1, min(30, max(5, round(min(n, m) ** (1 / 3))), n, m - 1)))


def log10_density_ratio(Z_data: np.ndarray, Z_prior: np.ndarray, dim: int, k: Optional[int] = None) -> np.ndarray:
    """log10 q̂(z)/p̂(z) at every prior code by k nearest neighbours (module docstring).

    Parameters
    ----------
    Z_data : ndarray (N, D)
        Codes of the data (the aggregate posterior's sample).
    Z_prior : ndarray (M, D)
        Codes drawn from the prior; the ratio is evaluated at each of them.
    dim : int
        Intrinsic dimension d of the latent space (the exponent of the kNN volume).
    k : int, optional
        Neighbours; default :func:`knn_k`.

    Returns
    -------
    ndarray (M,)
    """
    Zd = as_points(np.reshape(Z_data, (len(Z_data), -1)), "density ratio: data codes", 2)
    Zp = as_points(np.reshape(Z_prior, (len(Z_prior), -1)), "density ratio: prior codes", 3)
    if Zd.shape[1] != Zp.shape[1]:
        raise UserInputError(f"density ratio: data codes have {Zd.shape[1]} coordinates, prior codes {Zp.shape[1]}")
    k = knn_k(len(Zd), len(Zp)) if k is None else int(k)
    rho_q = NearestNeighbors(n_neighbors=k).fit(Zd).kneighbors(Zp)[0][:, -1]
    rho_p = NearestNeighbors(n_neighbors=k + 1).fit(Zp).kneighbors(Zp)[0][:, -1]  # the first is z itself
    tiny = 1e-12 * max(1.0, float(np.abs(Zp).max()))
    return (np.log10((len(Zp) - 1) / len(Zd))
            + dim * (np.log10(np.maximum(rho_p, tiny)) - np.log10(np.maximum(rho_q, tiny))))


def data_spacing(R: np.ndarray, k: int = SPACING_K) -> float:
    """s: the median distance from a point of R (n, m) to its k-th nearest other point of R."""
    R = as_points(np.reshape(R, (len(R), -1)), "data spacing", 2)
    k = min(int(k), len(R) - 1)
    d = NearestNeighbors(n_neighbors=k + 1).fit(R).kneighbors(R)[0][:, k]
    return float(np.median(d))


def spacings_from(X: np.ndarray, R: np.ndarray, spacing: float) -> np.ndarray:
    """Distance of each row of X (M, m) to its nearest point of R (n, m), in spacings: (M,)."""
    X = as_points(np.reshape(X, (len(X), -1)), "distance to the data: decoded samples (a model that diverged?)")
    R = as_points(np.reshape(R, (len(R), -1)), "distance to the data: reference")
    return NearestNeighbors(n_neighbors=1).fit(R).kneighbors(X)[0][:, 0] / max(spacing, 1e-300)


@dataclasses.dataclass
class PriorHoles:
    """The prior-hole map of one model.

    Attributes
    ----------
    log_ratio : ndarray (M,)
        log10 q̂/p̂ at each prior code.
    off : ndarray (M,)
        Distance of each decoded prior code to the data, in data spacings.
    hole_floor : ndarray (reps,)
        Hole shares with q a second independent prior draw.
    off_floor : ndarray (reps,)
        Off-manifold shares of samples of the data's law.
    k, dim : int
    spacing : float
    """

    log_ratio: np.ndarray
    off: np.ndarray
    hole_floor: np.ndarray
    off_floor: np.ndarray
    k: int
    dim: int
    spacing: float
    ratio: float = HOLE_RATIO
    t: float = T_SPACINGS

    @property
    def in_hole(self) -> np.ndarray:
        return self.log_ratio < math.log10(self.ratio)

    @property
    def off_manifold(self) -> np.ndarray:
        return self.off > self.t

    def summary(self) -> Dict[str, float]:
        hole, off = self.in_hole, self.off_manifold
        med = lambda a: float(np.median(a)) if len(a) else None  # noqa: E731
        return {"n_prior": int(len(self.off)), "k": self.k, "dim": self.dim, "hole_ratio": self.ratio,
                "t_spacings": self.t, "spacing": self.spacing,
                "hole_share": float(hole.mean()), "hole_share_floor": _mean_sd(self.hole_floor),
                "off_share": float(off.mean()), "off_share_floor": _mean_sd(self.off_floor),
                "off_share_in_holes": float(off[hole].mean()) if hole.any() else None,
                "off_share_elsewhere": float(off[~hole].mean()) if (~hole).any() else None,
                "median_off_in_holes": med(self.off[hole]), "median_off_elsewhere": med(self.off[~hole])}


def _mean_sd(a: np.ndarray):
    a = np.asarray(a, dtype=np.float64)
    return [float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0]


@METRICS.register("prior_holes", help="Share of prior codes where the encoded data's density is below a tenth of the "
                                      "prior's (kNN ratio), and share of decoded prior codes more than one 10-neighbour radius "
                                      "from held-out data; each with its noise floor.")
def prior_holes(Z_data: np.ndarray, Z_prior: np.ndarray, Z_prior_null: np.ndarray, X_decoded: np.ndarray,
                R: np.ndarray, floor_samples, dim: int, k: Optional[int] = None, ratio: float = HOLE_RATIO,
                t: float = T_SPACINGS) -> PriorHoles:
    """The prior-hole map (module docstring).

    Parameters
    ----------
    Z_data : ndarray (N, ...)
        Encoded training points.
    Z_prior : ndarray (M, ...)
        Prior codes; ``X_decoded`` (M, m) are their decodings.
    Z_prior_null : sequence of ndarray (N, ...)
        Independent prior draws the size of ``Z_data``: the hole share's floor (one per repetition).
    R : ndarray (n, m)
        The held-out reference the decoded points are judged against.
    floor_samples : sequence of ndarray (M', m)
        Samples of the data's law, independent of R: the off-manifold share's floor.
    dim : int
        Intrinsic dimension of the latent space.
    """
    k = knn_k(len(Z_data), len(Z_prior)) if k is None else int(k)
    lr = log10_density_ratio(Z_data, Z_prior, dim, k)
    cut = math.log10(ratio)
    hole_floor = np.array([np.mean(log10_density_ratio(Zn, Z_prior, dim, k) < cut) for Zn in Z_prior_null])
    s = data_spacing(R)
    off = spacings_from(X_decoded, R, s)
    off_floor = np.array([np.mean(spacings_from(F, R, s) > t) for F in floor_samples])
    return PriorHoles(lr, off, hole_floor, off_floor, k=k, dim=int(dim), spacing=s, ratio=ratio, t=t)
