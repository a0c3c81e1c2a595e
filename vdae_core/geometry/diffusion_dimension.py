"""How many diffusion coordinates a dataset needs, read off the data: the smallest D whose diffusion
embedding keeps the data's neighbourhoods as well as any larger one does.

Many eigenvectors of a diffusion map are harmonics of earlier ones (on a circle, cos 2θ and sin 2θ are
functions of cos θ and sin θ), so the first D coordinates need not hold every direction of the manifold.
On a torus of revolution with R/r = 2.5 the first four non-trivial coordinates are cos θ, sin θ, cos 2θ,
sin 2θ (the ring and its harmonic): a 4-D latent draws a circle and the tube's loop is lost.

The rule. Let Φ_D = (φ_1, ..., φ_D) be the first D non-trivial diffusion coordinates (the VDAE's ψ
targets: same kNN Gaussian graph, same k) and

    q(D) = mean over points of |kNN_X(i) ∩ kNN_{Φ_D}(i)| / k      (k = :data:`NEIGHBOURS`)

the share of each point's nearest neighbours in the data that are still its nearest neighbours in Φ_D.
A collapsed direction (the tube squeezed onto the ring) puts points from the far side of the tube among a
point's neighbours, so q stays low until the coordinates carrying that direction are in; after that it
stays on a plateau (harmonics change no neighbourhood). We take

    D = the smallest D ≤ K with q(D) ≥ max_{D' ≤ K} q(D') − :data:`PLATEAU_TOL`,   K = min(``max_dim``, n / 40).

K shrinks with the points read: on a few hundred points q keeps rising with D (with D a sizeable share of n,
the coordinates reproduce the kNN graph itself: 320 points of a sphere read D = 15 without the cap, 3 with
it, tests/test_diffusion_dimension.py), so only coordinates that 40 points or more each support are compared.

It sees scale, which a test of functional dependence does not: an eigenvector whose tube component is a
tenth of its size makes Φ_4 injective on the torus (so local linear regression, Dsilva et al. 2018, calls
the later coordinates harmonics), yet the tube's loop in Φ_4 is a tenth of its size and neighbourhoods
across it are mixed up. Measured on circle, sphere, flat torus, swiss roll, bunny and tori of five radius
ratios over seeds (tests/test_diffusion_dimension.py, docs/METHODS.md).

Written here because no library offers a dimension rule for diffusion coordinates; the neighbour
searches are scikit-learn's and the eigenvectors come from :func:`.diffusion_maps.diffusion_map`.
"""
from __future__ import annotations

import dataclasses
import numpy as np
from sklearn.neighbors import NearestNeighbors

from vdae_core.geometry.diffusion_maps import diffusion_map

#: Neighbours whose preservation q(D) counts.
NEIGHBOURS = 10
#: q(D) within this of its maximum counts as on the plateau (q varies by about ±0.01 between seeds on a plateau).
PLATEAU_TOL = 0.03
#: Points the rule reads (a seeded random subset of larger sets): about 0.5 s on a 2-core CPU.
MAX_POINTS = 1000
#: Coordinates examined: D never exceeds it.
MAX_DIM = 24
#: Points each examined coordinate needs: K = min(MAX_DIM, n / this) (module docstring).
POINTS_PER_COORDINATE = 40


@dataclasses.dataclass
class DimensionChoice:
    """Result of :func:`diffusion_dimension`.

    Attributes
    ----------
    dim : int
        The chosen D.
    preserved : ndarray (K,)
        q(1), ..., q(K): share of data neighbours kept by the first D coordinates.
    eigenvalues : ndarray (K,)
        μ_1..μ_K of the random-walk matrix.
    n_points : int
        Points the rule read.
    """

    dim: int
    preserved: np.ndarray
    eigenvalues: np.ndarray
    n_points: int
    tol: float = PLATEAU_TOL

    @property
    def reason(self) -> str:
        """One sentence a user can read."""
        q = self.preserved
        best = float(q.max())
        before = (f"; with {self.dim - 1} it was {q[self.dim - 2]:.0%}" if self.dim > 1 else "")
        return (f"D = {self.dim}: the first {self.dim} diffusion coordinates keep {q[self.dim - 1]:.0%} of each point's "
                f"{NEIGHBOURS} nearest neighbours, within {self.tol:.0%} of the most any D up to {len(q)} keeps "
                f"({best:.0%}){before}. Fewer coordinates squeeze a direction of the data (e.g. a torus's tube) "
                f"onto the others; more only add harmonics.")

    def to_dict(self) -> dict:
        return {"dim": self.dim, "preserved": [round(float(v), 4) for v in self.preserved],
                "eigenvalues": [round(float(m), 6) for m in self.eigenvalues], "n_points": self.n_points,
                "tol": self.tol, "neighbours": NEIGHBOURS}


def neighbour_preservation(X: np.ndarray, coords: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """q(D) for D = 1..K: mean share of each point's k nearest neighbours in ``X`` (n, m) that are among its
    k nearest in the first D columns of ``coords`` (n, K). Returns (K,)."""
    k = min(k, len(X) - 1)
    ref = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X, return_distance=False)[:, 1:]
    ref.sort(1)
    q = np.empty(coords.shape[1])
    for D in range(1, coords.shape[1] + 1):
        C = coords[:, :D]
        got = NearestNeighbors(n_neighbors=k + 1).fit(C).kneighbors(C, return_distance=False)[:, 1:]
        # |ref_i ∩ got_i| for every i at once: count matches of each got_i entry in the sorted ref_i
        pos = np.clip(np.array([np.searchsorted(r, g) for r, g in zip(ref, got)]), 0, k - 1)
        q[D - 1] = (np.take_along_axis(ref, pos, 1) == got).sum() / (len(X) * k)
    return q


def diffusion_dimension(X: np.ndarray, k: int = 20, max_dim: int = MAX_DIM, tol: float = PLATEAU_TOL,
                        max_points: int = MAX_POINTS, seed: int = 0) -> DimensionChoice:
    """The number of diffusion coordinates of ``X`` (see the module docstring).

    Parameters
    ----------
    X : ndarray (n, m)
        The points (or flattened pixels).
    k : int
        Neighbours of the diffusion map's kNN Gaussian graph (the VDAE's ``knn``).
    max_dim : int
        Coordinates examined (K).
    tol : float
        Plateau tolerance.
    max_points : int
        A seeded random subset of larger sets is read.

    Returns
    -------
    DimensionChoice
    """
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    if len(X) > max_points:
        X = X[np.sort(np.random.default_rng(seed).choice(len(X), max_points, replace=False))]
    K = int(max(1, min(max_dim, len(X) - 3, max(4, len(X) // POINTS_PER_COORDINATE))))
    dm = diffusion_map(X, n_components=K, k=min(k, len(X) - 1))
    q = neighbour_preservation(X, dm.coords)
    dim = int(np.argmax(q >= q.max() - tol)) + 1
    return DimensionChoice(dim, q, dm.eigenvalues, len(X), tol)


@dataclasses.dataclass
class FixedDimension:
    """A latent dimension a data source states itself; ``reason`` says where it comes from."""

    dim: int
    reason: str

    def to_dict(self) -> dict:
        return {"dim": self.dim, "reason": self.reason}
