"""Meshes: loading with trimesh, area-uniform surface sampling, and the shipped mesh datasets."""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Optional

import numpy as np

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import DATASETS
from vdae_core.data.base import Dataset, Mesh, add_noise

ASSETS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "assets")
MESH_DIR = os.path.join(ASSETS, "meshes")
MESH_EXTS = (".ply", ".obj", ".off", ".stl")


def load_mesh(path: str) -> Mesh:
    """Read a triangle mesh file (.ply/.obj/.off/.stl) with trimesh.

    Vertices are merged and unreferenced ones dropped, so that the mesh graph is the surface.

    Raises
    ------
    UserInputError
        Missing file, unreadable file, no faces, or non-finite vertices.
    """
    import trimesh

    if not os.path.exists(path):
        raise UserInputError(f"mesh file not found: {path}")
    ext = os.path.splitext(path)[1].lower()
    if ext not in MESH_EXTS:
        raise UserInputError(f"{os.path.basename(path)}: not a mesh file (expected one of {', '.join(MESH_EXTS)})")
    name = os.path.basename(path)
    try:
        # process=False: trimesh's processing drops NaN vertices (and their faces) without a word.
        m = trimesh.load(path, force="mesh", process=False)
    except Exception as e:  # trimesh raises many types for corrupt files
        raise UserInputError(f"{name}: could not read mesh ({type(e).__name__}: {e})") from None
    if not isinstance(m, trimesh.Trimesh) or len(m.faces) == 0:
        raise UserInputError(f"{name}: the mesh has no triangle faces")
    V = np.asarray(m.vertices, dtype=np.float64)
    bad = ~np.isfinite(V).all(1)
    if bad.any():
        raise UserInputError(f"{name}: {int(bad.sum())} of {len(V)} mesh vertices contain NaN or inf")
    m.merge_vertices(merge_tex=True, merge_norm=True)
    m.remove_unreferenced_vertices()
    V = np.asarray(m.vertices, dtype=np.float64)
    F = np.asarray(m.faces, dtype=np.int64)
    check_surface_rank(V, name)
    return Mesh(V, F)


#: A mesh whose second principal extent is below this fraction of its first is a line, not a surface.
MIN_FLATNESS = 1e-6


def check_surface_rank(V: np.ndarray, name: str) -> None:
    """Refuse vertices (n, 3) that span less than a plane: one point, or a line to within :data:`MIN_FLATNESS`
    of its length (principal extents from the SVD of the centred vertices). A flat planar mesh is a surface
    and is accepted."""
    if len(V) < 3:
        raise UserInputError(f"{name}: {len(V)} vertices cannot make a surface")
    sv = np.linalg.svd(V - V.mean(0), compute_uv=False)
    if not sv[0] > 0:
        raise UserInputError(f"{name}: every vertex is the same point")
    if sv[1] < MIN_FLATNESS * sv[0]:
        raise UserInputError(f"{name}: the vertices lie on a line (second principal extent {sv[1] / sv[0]:.1e} of "
                             f"the first); a surface needs two dimensions")


def normalise_mesh(mesh: Mesh) -> Mesh:
    """Centre at the area-weighted centroid and scale to unit RMS radius (shape-preserving)."""
    V = mesh.vertices
    tri = V[mesh.faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    c = (tri.mean(1) * area[:, None]).sum(0) / area.sum()
    Vc = V - c
    s = np.sqrt((Vc ** 2).sum(1).mean())
    return Mesh(Vc / s, mesh.faces)


def sample_surface(mesh: Mesh, n: int, seed: int):
    """Sample ``n`` points uniformly by area.

    Returns
    -------
    points : ndarray (n, 3)
    face_index : ndarray (n,) int
    """
    rng = np.random.default_rng(seed)
    tri = mesh.vertices[mesh.faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    if not area.sum() > 0:
        raise UserInputError("the mesh has zero surface area")
    fi = rng.choice(len(area), size=n, p=area / area.sum())
    # Uniform barycentric coordinates by the square-root trick.
    u, v = rng.uniform(size=(2, n))
    su = np.sqrt(u)
    b = np.stack([1 - su, su * (1 - v), su * v], 1)
    pts = (tri[fi] * b[:, :, None]).sum(1)
    return pts, fi


def mesh_dataset(mesh: Mesh, name: str, n: int, seed: int, noise: float, suggested_dim: Optional[int],
                 source: str) -> Dataset:
    """Area-uniform samples of a (normalised) mesh, coloured by height (z) and the x, y coordinates.

    ``suggested_dim`` None (a user's mesh): the latent dimension is read off the points
    (``Dataset.latent_dim_choice``)."""
    mesh = normalise_mesh(mesh)
    pts, fi = sample_surface(mesh, n, seed)
    rng = np.random.default_rng(seed + 1)
    X = add_noise(pts, noise, rng)
    return Dataset(name, X, pts[:, [2, 0, 1]], ("height", "x", "y"), (False, False, False),
                   intrinsic_dim=2, suggested_dim=suggested_dim, mesh=mesh, face_index=fi, source=source)


@lru_cache(maxsize=8)
def _asset_mesh(fname: str) -> Mesh:
    return load_mesh(os.path.join(MESH_DIR, fname))


def _register_asset(name: str, fname: str, dim: int, help: str) -> None:
    def build(n: int = 3000, seed: int = 0, noise: float = 0.0) -> Dataset:
        return mesh_dataset(_asset_mesh(fname), name, n, seed, noise, dim,
                            source=f"assets/meshes/{fname} (n={n}, seed={seed}, noise={noise})")

    build.__doc__ = help
    DATASETS.register(name, help=help)(build)


_register_asset("bunny", "bunny_libigl_3485v.off", 6,
                "Stanford bunny (3,485-vertex watertight mesh), points uniform by area.")
_register_asset("spot", "spot_2930v.obj", 6, "Spot the cow (genus 0, 2,930 vertices), uniform by area.")
_register_asset("bob", "bob_small_250v_genus1.ply", 8, "Bob (genus 1, 250 vertices), uniform by area.")


def file_mesh_dataset(path: str, n: int, seed: int, noise: float) -> Dataset:
    return mesh_dataset(load_mesh(path), os.path.basename(path), n, seed, noise, None,
                        source=f"{path} (n={n}, seed={seed}, noise={noise})")


def torus_mesh(R: float = 2.0, r: float = 0.7, n_theta: int = 64, n_phi: int = 32) -> Mesh:
    """Parametric grid mesh of the torus of revolution (vertices (n_theta*n_phi, 3))."""
    th = np.linspace(0, 2 * np.pi, n_theta, endpoint=False)
    ph = np.linspace(0, 2 * np.pi, n_phi, endpoint=False)
    T, P = np.meshgrid(th, ph, indexing="ij")
    V = np.stack([(R + r * np.cos(P)) * np.cos(T), (R + r * np.cos(P)) * np.sin(T), r * np.sin(P)], -1).reshape(-1, 3)
    idx = np.arange(n_theta * n_phi).reshape(n_theta, n_phi)
    a, b = idx, np.roll(idx, -1, 0)
    c, d = np.roll(idx, -1, 1), np.roll(np.roll(idx, -1, 0), -1, 1)
    F = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])
    return Mesh(V, F)


def sphere_mesh(subdivisions: int = 4) -> Mesh:
    """Unit icosphere (2,562 vertices for 4 subdivisions)."""
    import trimesh

    m = trimesh.creation.icosphere(subdivisions=subdivisions)
    return Mesh(np.asarray(m.vertices, float), np.asarray(m.faces, np.int64))
