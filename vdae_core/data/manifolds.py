"""Synthetic manifolds with ground-truth intrinsic coordinates, sampled uniformly (by volume)."""
from __future__ import annotations

import numpy as np

from vdae_core.foundation.registry import DATASETS
from vdae_core.geometry.exact_manifolds import ExactManifold
from vdae_core.data.base import CosineAngleLaw, Dataset, add_noise, rng_for
from vdae_core.data.meshes import sphere_mesh, torus_mesh

TWO_PI = 2.0 * np.pi


@DATASETS.register("circle", help="Unit circle (a loop) tilted in R^3; coordinate: angle θ.")
def circle(n: int = 2000, seed: int = 0, noise: float = 0.0) -> Dataset:
    """Uniform samples of a unit circle rotated into R^3. Returns X (n, 3), params θ (n, 1)."""
    rng = rng_for(seed)
    theta = rng.uniform(0, TWO_PI, n)
    # A fixed rotation so the loop is not axis-aligned (it lives in a tilted plane of R^3).
    R = _rotation(0.5, 0.3)
    X = np.stack([np.cos(theta), np.sin(theta), np.zeros(n)], 1) @ R.T
    return Dataset("circle", add_noise(X, noise, rng), theta[:, None], ("theta",), (True,),
                   intrinsic_dim=1, suggested_dim=2, source=f"circle(n={n}, seed={seed}, noise={noise})",
                   manifold=ExactManifold("circle", {"rotation": R.tolist()}))


@DATASETS.register("sphere", help="Unit sphere S² in R^3, uniform; coordinates: polar angle, azimuth.")
def sphere(n: int = 3000, seed: int = 0, noise: float = 0.0) -> Dataset:
    """Uniform samples of S^2. Returns X (n, 3), params (polar, azimuth)."""
    rng = rng_for(seed)
    v = rng.standard_normal((n, 3))
    X = v / np.linalg.norm(v, axis=1, keepdims=True)
    polar = np.arccos(np.clip(X[:, 2], -1, 1))
    azim = np.mod(np.arctan2(X[:, 1], X[:, 0]), TWO_PI)
    return Dataset("sphere", add_noise(X, noise, rng), np.stack([polar, azim], 1), ("polar", "azimuth"),
                   (False, True), intrinsic_dim=2, suggested_dim=3, mesh=sphere_mesh(),
                   source=f"sphere(n={n}, seed={seed}, noise={noise})", manifold=ExactManifold("sphere", {"radius": 1.0}))


@DATASETS.register("torus", help="Torus of revolution in R^3 (R=2, r=0.7), uniform by area; angles θ, φ.")
def torus(n: int = 3000, seed: int = 0, noise: float = 0.0, R: float = 2.0, r: float = 0.7) -> Dataset:
    """Area-uniform samples of a torus of revolution.

    The area element is r (R + r cos φ) dθ dφ, so φ is drawn by rejection with density ∝ R + r cos φ.
    Returns X (n, 3) and params (θ around the axis, φ around the tube).
    """
    rng = rng_for(seed)
    theta = rng.uniform(0, TWO_PI, n)
    phi = np.empty(0)
    while phi.size < n:
        cand = rng.uniform(0, TWO_PI, 2 * n)
        keep = rng.uniform(0, R + r, 2 * n) < R + r * np.cos(cand)
        phi = np.concatenate([phi, cand[keep]])
    phi = phi[:n]
    X = np.stack([(R + r * np.cos(phi)) * np.cos(theta), (R + r * np.cos(phi)) * np.sin(theta),
                  r * np.sin(phi)], 1)
    return Dataset("torus", add_noise(X, noise, rng), np.stack([theta, phi], 1), ("theta", "phi"),
                   (True, True), intrinsic_dim=2, suggested_dim=12, mesh=torus_mesh(R, r),
                   source=f"torus(n={n}, seed={seed}, noise={noise}, R={R}, r={r})",
                   # Area-uniform: φ has density (1 + (r/R) cos φ)/2π, at KS distance (r/R)/2π = 0.056
                   # from uniform, which a perfect sampler would show if tested against uniform.
                   param_laws={"phi": CosineAngleLaw(r / R)}, manifold=ExactManifold("torus", {"R": R, "r": r}))


@DATASETS.register("flat_torus", help="Flat torus S¹×S¹ in R^4 (Clifford torus); angles θ, φ.")
def flat_torus(n: int = 3000, seed: int = 0, noise: float = 0.0) -> Dataset:
    """Uniform samples of (cos θ, sin θ, cos φ, sin φ). Returns X (n, 4), params (θ, φ)."""
    rng = rng_for(seed)
    theta, phi = rng.uniform(0, TWO_PI, (2, n))
    X = np.stack([np.cos(theta), np.sin(theta), np.cos(phi), np.sin(phi)], 1)
    return Dataset("flat_torus", add_noise(X, noise, rng), np.stack([theta, phi], 1), ("theta", "phi"),
                   (True, True), intrinsic_dim=2, suggested_dim=4,
                   source=f"flat_torus(n={n}, seed={seed}, noise={noise})", manifold=ExactManifold("flat_torus"))


@DATASETS.register("swiss_roll", help="Swiss roll in R^3 (scikit-learn's parametrisation); coordinates t, height.")
def swiss_roll(n: int = 2000, seed: int = 0, noise: float = 0.0) -> Dataset:
    """Swiss roll, uniform in (t, h) with t in [1.5π, 4.5π], h in [0, 21]. Returns X (n, 3)."""
    rng = rng_for(seed)
    t = 1.5 * np.pi * (1 + 2 * rng.uniform(size=n))
    h = 21 * rng.uniform(size=n)
    X = np.stack([t * np.cos(t), h, t * np.sin(t)], 1)
    return Dataset("swiss_roll", add_noise(X, noise, rng), np.stack([t, h], 1), ("t", "height"),
                   (False, False), intrinsic_dim=2, suggested_dim=4,
                   source=f"swiss_roll(n={n}, seed={seed}, noise={noise})")


@DATASETS.register("swiss_roll_hole", help="Swiss roll with a rectangular hole (a loop around it); coordinates t, "
                                         "height.")
def swiss_roll_hole(n: int = 2000, seed: int = 0, noise: float = 0.0) -> Dataset:
    """The swiss roll of :func:`swiss_roll` with the middle third of both parameters removed,
    t ∈ [2.5π, 3.5π] × h ∈ [7, 14] (the test set of Hessian LLE, Donoho & Grimes 2003): a sheet with one hole,
    Betti numbers (1, 1). Uniform in (t, h) on the rest (rejection). Returns X (n, 3)."""
    rng = rng_for(seed)
    t, h = np.empty(0), np.empty(0)
    while len(t) < n:
        tt = 1.5 * np.pi * (1 + 2 * rng.uniform(size=2 * n))
        hh = 21 * rng.uniform(size=2 * n)
        keep = ~((np.abs(tt - 3 * np.pi) < 0.5 * np.pi) & (np.abs(hh - 10.5) < 3.5))
        t, h = np.concatenate([t, tt[keep]]), np.concatenate([h, hh[keep]])
    t, h = t[:n], h[:n]
    X = np.stack([t * np.cos(t), h, t * np.sin(t)], 1)
    return Dataset("swiss_roll_hole", add_noise(X, noise, rng), np.stack([t, h], 1), ("t", "height"),
                   (False, False), intrinsic_dim=2, suggested_dim=4,
                   source=f"swiss_roll_hole(n={n}, seed={seed}, noise={noise})")


# The 9 occupied cells of the paper's 5x5 grid (§6.3): every other cell, i.e. a 3x3 lattice of
# well-separated discs with spacing 2 (gaps of 2 - 2*radius between blob edges).
BLOB_CENTRES = np.array([(x, y) for x in (-2.0, 0.0, 2.0) for y in (-2.0, 0.0, 2.0)])


@DATASETS.register("blobs9", help="Nine separated discs on a 5×5 grid (paper §6.3); label = blob index.")
def blobs9(n: int = 2250, seed: int = 0, noise: float = 0.0, radius: float = 0.35) -> Dataset:
    """Nine bounded (uniform-disc) densities at every other cell of a 5x5 grid.

    Returns X (n, 2), params (blob label, radial fraction), labels (n,).
    """
    rng = rng_for(seed)
    lab = np.arange(n) % 9
    rng.shuffle(lab)
    rad = radius * np.sqrt(rng.uniform(size=n))
    ang = rng.uniform(0, TWO_PI, n)
    X = BLOB_CENTRES[lab] + np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1)
    return Dataset("blobs9", add_noise(X, noise, rng), np.stack([lab, rad / radius], 1),
                   ("blob", "radius"), (False, False), intrinsic_dim=2, suggested_dim=26,
                   labels=lab.astype(np.int64), source=f"blobs9(n={n}, seed={seed}, noise={noise}, radius={radius})")


def _rotation(a: float, b: float) -> np.ndarray:
    """Rotation by ``a`` about x then ``b`` about y, shape (3, 3)."""
    ca, sa, cb, sb = np.cos(a), np.sin(a), np.cos(b), np.sin(b)
    Rx = np.array([[1, 0, 0], [0, ca, -sa], [0, sa, ca]])
    Ry = np.array([[cb, 0, sb], [0, 1, 0], [-sb, 0, cb]])
    return Ry @ Rx
