"""Image sets whose manifold and coordinates are known: a photographed turntable (ALOI), rendered turntables
of any studio mesh, and cyclic translations of periodic pictures (the ΔVAE paper's §4.2).

Each returns a :class:`Dataset` with the images (``images``, uint8), their flattened pixels in [0, 1]
(``X``), and the ground truth in ``params`` (angles in radians, marked periodic), so the latent angle a
model finds can be scored with :func:`vdae_core.metrics.circular.circular_correlation`. The rendered and
translated sets are generators (any ``n``, fresh samples for held-out evaluation); ALOI is a fixed set of 72.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Tuple

import numpy as np

from vdae_core.foundation.registry import DATASETS
from vdae_core.data.base import Dataset, rng_for
from vdae_core.data.images import IMG_DIR, image_dataset
from vdae_core.data.meshes import _asset_mesh, normalise_mesh, sample_surface

TWO_PI = 2.0 * np.pi


def _noisy(images: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Add Gaussian pixel noise of std ``noise`` (in units of the [0, 1] range) and requantise to uint8."""
    if noise <= 0:
        return images
    a = images.astype(np.float64) / 255.0 + noise * rng.standard_normal(images.shape)
    return np.round(255.0 * np.clip(a, 0.0, 1.0)).astype(np.uint8)


# -- ALOI ------------------------------------------------------------------------------------------------------


@DATASETS.register("aloi", finite=True,
                   help="ALOI object 32: 72 turntable photographs 5° apart, 36×48 grayscale; coordinate: the angle "
                        "(a circle).")
def aloi(n: int = 72, seed: int = 0, noise: float = 0.0) -> Dataset:
    """The 72 views of ALOI object 32 (Geusebroek et al. 2005), downsampled from 192×144 (Lanczos).

    Returns images (k, 36, 48) with k = min(n, 72) and params: the turntable angle (k, 1) in radians.
    """
    d = np.load(os.path.join(IMG_DIR, "aloi32_48x36.npz"))
    k = min(int(n), len(d["images"]))
    idx = np.arange(len(d["images"])) if k == len(d["images"]) else np.sort(
        rng_for(seed).choice(len(d["images"]), k, replace=False))
    angle = np.deg2rad(d["angle_deg"][idx].astype(np.float64))
    imgs = _noisy(d["images"][idx], noise, rng_for(seed + 1))
    return image_dataset(imgs, "aloi", angle[:, None], ("angle",), (True,), 2, None,
                         "assets/images/aloi32_48x36.npz (ALOI object 32, 72 views 5° apart)")


# -- rendered turntables ---------------------------------------------------------------------------------------

#: Surface points splatted per view (with 2× supersampling they leave no holes at 32×32 on the bunny).
RENDER_POINTS = 40_000
#: Direction of the light in the camera's frame (x right, y up, z towards the camera).
LIGHT = np.array([0.4, 0.6, 1.0]) / np.linalg.norm([0.4, 0.6, 1.0])


@lru_cache(maxsize=4)
def _surface(mesh_file: str, points: int) -> Tuple[np.ndarray, np.ndarray]:
    """Fixed area-uniform surface points (points, 3) of a normalised mesh and their smooth normals (points, 3)."""
    mesh = normalise_mesh(_asset_mesh(mesh_file))
    V, F = mesh.vertices, mesh.faces
    tri = V[F]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # area-weighted face normals
    vn = np.zeros_like(V)
    for j in range(3):
        np.add.at(vn, F[:, j], fn)
    vn /= np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)
    pts, fi = sample_surface(mesh, points, seed=0)
    # Barycentric coordinates of each point in its face, to interpolate the vertex normals (Phong normals).
    a, b, c = tri[fi, 0], tri[fi, 1], tri[fi, 2]
    v0, v1, v2 = b - a, c - a, pts - a
    d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
    d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
    den = np.maximum(d00 * d11 - d01 * d01, 1e-18)
    w1, w2 = (d11 * d20 - d01 * d21) / den, (d00 * d21 - d01 * d20) / den
    nrm = (1 - w1 - w2)[:, None] * vn[F[fi, 0]] + w1[:, None] * vn[F[fi, 1]] + w2[:, None] * vn[F[fi, 2]]
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
    # The bunny stands on y (its up axis); radius 1 fits the object in the frame at every angle.
    r = np.linalg.norm(pts, axis=1).max()
    return pts / r, nrm


def view_rotation(azimuth: float, elevation: float) -> np.ndarray:
    """Rotation (3, 3) taking object coordinates to camera coordinates: turn by ``azimuth`` about the
    object's vertical (y) axis, then tilt the camera by ``elevation`` (radians) about its x axis."""
    ca, sa, ce, se = np.cos(azimuth), np.sin(azimuth), np.cos(elevation), np.sin(elevation)
    Ry = np.array([[ca, 0, sa], [0, 1, 0], [-sa, 0, ca]])
    Rx = np.array([[1, 0, 0], [0, ce, -se], [0, se, ce]])
    return Rx @ Ry


def render_views(points: np.ndarray, normals: np.ndarray, azimuth: np.ndarray, elevation: np.ndarray,
                 size: int = 32, supersample: int = 2, colour: bool = False) -> np.ndarray:
    """Render a surface (given as dense points with normals) by orthographic point splatting with a z-buffer.

    Each point is projected to the pixel under it; per pixel the point nearest the camera wins and is
    shaded by Lambert's law, 0.15 + 0.85 max(0, n · l) for the fixed light :data:`LIGHT`; the background is
    black. With ``colour`` the surface is painted by its normal in object coordinates, albedo
    0.25 + 0.75 (n + 1)/2 per RGB channel, so each side of the object keeps its colour as it turns. The
    image is rendered ``supersample`` times larger and box-filtered down (antialiasing).

    Parameters
    ----------
    points, normals : ndarray (p, 3)
        Surface points inside the unit ball and their unit normals (object coordinates).
    azimuth, elevation : ndarray (k,)
        View angles in radians (see :func:`view_rotation`).
    size : int
        Side of the square output images in pixels.

    Returns
    -------
    images : ndarray (k, size, size) uint8, or (k, size, size, 3) with ``colour``
    """
    big = size * supersample
    ch = 3 if colour else 1
    out = np.zeros((len(azimuth), size, size, ch), dtype=np.uint8)
    for i, (az, el) in enumerate(zip(np.asarray(azimuth, float), np.asarray(elevation, float))):
        R = view_rotation(az, el)
        p, nv = points @ R.T, normals @ R.T
        col = np.clip(((p[:, 0] + 1) / 2 * big).astype(np.int64), 0, big - 1)
        row = np.clip(((1 - p[:, 1]) / 2 * big).astype(np.int64), 0, big - 1)
        pix = row * big + col
        order = np.lexsort((-p[:, 2], pix))  # by pixel, nearest (largest z) first
        first = order[np.unique(pix[order], return_index=True)[1]]
        shade = 0.15 + 0.85 * np.clip(nv[first] @ LIGHT, 0.0, None)
        albedo = 0.25 + 0.75 * (normals[first] + 1) / 2 if colour else np.ones((len(first), 1))
        img = np.zeros((big * big, ch))
        img[pix[first]] = shade[:, None] * albedo
        img = img.reshape(size, supersample, size, supersample, ch).mean((1, 3))
        out[i] = np.round(255.0 * img).astype(np.uint8)
    return out if colour else out[..., 0]


def _turntable(name: str, n: int, seed: int, noise: float, elevation_range: Tuple[float, float],
               mesh_file: str = "bunny_libigl_3485v.off", size: int = 32, colour: bool = False) -> Dataset:
    rng = rng_for(seed)
    az = rng.uniform(0, TWO_PI, n)
    lo, hi = np.deg2rad(elevation_range)
    el = rng.uniform(lo, hi, n) if hi > lo else np.full(n, lo)
    pts, nrm = _surface(mesh_file, RENDER_POINTS)
    imgs = _noisy(render_views(pts, nrm, az, el, size, colour=colour), noise, rng)
    src = (f"{mesh_file} rendered at {size}×{size}{' in RGB, painted by its normals' if colour else ''} "
           f"(n={n}, seed={seed}, noise={noise})")
    if hi > lo:
        return image_dataset(imgs, name, np.stack([az, el], 1), ("azimuth", "elevation"), (True, False), 3, None, src)
    return image_dataset(imgs, name, az[:, None], ("azimuth",), (True,), 2, None, src)


@DATASETS.register("turntable", help="The Stanford bunny rendered (32×32, shaded) at n random azimuths, camera 20° "
                                     "above; coordinate: the azimuth (a circle).")
def turntable(n: int = 360, seed: int = 0, noise: float = 0.0) -> Dataset:
    """Renders of the bunny turning on a turntable: a circle of images with the exact angle known."""
    return _turntable("turntable", n, seed, noise, (20.0, 20.0))


@DATASETS.register("turntable_rgb", help="The turntable in colour (32×32 RGB): the bunny painted by its surface "
                                         "normal, so each side keeps its colour; coordinate: the azimuth (a circle).")
def turntable_rgb(n: int = 360, seed: int = 0, noise: float = 0.0) -> Dataset:
    """RGB renders of the painted bunny on a turntable: a circle of colour images with the exact angle known."""
    return _turntable("turntable_rgb", n, seed, noise, (20.0, 20.0), colour=True)


@DATASETS.register("turntable2d", help="The Stanford bunny rendered (32×32) at random azimuth × elevation in "
                                       "[−40°, 40°]: a cylinder of images with both angles known.")
def turntable2d(n: int = 1500, seed: int = 0, noise: float = 0.0) -> Dataset:
    """Renders at azimuth × elevation: a 2-D manifold (an annulus/cylinder) with both coordinates known."""
    return _turntable("turntable2d", n, seed, noise, (-40.0, 40.0))


# -- translated periodic pictures (ΔVAE paper §4.2) ------------------------------------------------------------


def fourier_picture(N: int, gamma: float, seed: int) -> np.ndarray:
    """Complex Fourier coefficients a_{k,l} (2N+1, 2N+1) of the ΔVAE paper's random periodic picture

        pic(θ, φ) = Re Σ_{k,l=−N..N} γ^{|k|+|l|−1} a_{k,l} exp(i(kθ + lφ)),   a_{k,l} ~ CN(0, 1)   (§4.2)

    with the constant term removed. N = 0 gives the paper's "simple picture" cos θ + cos φ instead.
    """
    if N == 0:
        a = np.zeros((3, 3), complex)
        a[1, 2] = a[2, 1] = 1.0  # the (k, l) = (0, 1) and (1, 0) terms: Re e^{iφ} + Re e^{iθ}
        return a
    rng = rng_for(seed)
    k = np.arange(-N, N + 1)
    a = (rng.standard_normal((2 * N + 1,) * 2) + 1j * rng.standard_normal((2 * N + 1,) * 2)) / np.sqrt(2)
    a *= gamma ** (np.abs(k)[:, None] + np.abs(k)[None, :] - 1.0)
    a[N, N] = 0.0
    return a


def translated_pictures(coef: np.ndarray, shifts: np.ndarray, size: int = 32) -> np.ndarray:
    """The picture of Fourier coefficients ``coef`` (2N+1, 2N+1) translated by each (s, t) of ``shifts`` (k, 2),
    sampled on a size × size grid of [−π, π)²: pic(θ − s, φ − t) with θ along rows and φ along columns.

    Returns float64 (k, size, size); exactly periodic in s and t with period 2π.
    """
    N = (coef.shape[0] - 1) // 2
    k = np.arange(-N, N + 1)
    g = -np.pi + TWO_PI * np.arange(size) / size
    E = np.exp(1j * np.outer(g, k))  # (size, 2N+1): e^{ikθ} on the grid
    # Translating by (s, t) multiplies a_{k,l} by e^{−i(ks + lt)}.
    phase = np.exp(-1j * (shifts[:, 0:1] * k[None, :]))[:, :, None] * np.exp(-1j * (shifts[:, 1:2] * k[None, :]))[:, None, :]
    return np.real(np.einsum("rk,nkl,cl->nrc", E, coef[None] * phase, E))


def _pictures(name: str, N: int, gamma: float, n: int, seed: int, noise: float, size: int = 32) -> Dataset:
    rng = rng_for(seed)
    shifts = rng.uniform(0, TWO_PI, (n, 2))
    coef = fourier_picture(N, gamma, seed=12345)  # one fixed picture per dataset, whatever the sampling seed
    lim = np.abs(translated_pictures(coef, np.zeros((1, 2)), size)).max()
    pics = translated_pictures(coef, shifts, size)
    imgs = np.round(255.0 * np.clip((pics / lim + 1) / 2, 0, 1)).astype(np.uint8)
    imgs = _noisy(imgs, noise, rng)
    what = "cos θ + cos φ" if N == 0 else f"N = {N}, γ = {gamma}"
    return image_dataset(imgs, name, shifts, ("shift_rows", "shift_cols"), (True, True), 4, None,
                         f"periodic picture ({what}) at {size}×{size}, n={n} random cyclic translations, seed={seed}")


@DATASETS.register("fourier_torus", help="ΔVAE paper §4.2: cyclic translations of the picture cos θ + cos φ "
                                         "(32×32) — a flat torus with both translations known.")
def fourier_torus(n: int = 2000, seed: int = 0, noise: float = 0.0) -> Dataset:
    return _pictures("fourier_torus", 0, 1.0, n, seed, noise)


@DATASETS.register("fourier_torus_n3", help="ΔVAE paper §4.2: translations of a random picture of Fourier "
                                            "components up to N = 3 (γ = 0.5) — a torus with more detail.")
def fourier_torus_n3(n: int = 2000, seed: int = 0, noise: float = 0.0) -> Dataset:
    return _pictures("fourier_torus_n3", 3, 0.5, n, seed, noise)
