"""The dataset contract shared by every data source.

A dataset is points ``X`` of shape (n, m) with ground-truth intrinsic coordinates ``params`` of shape
(n, p) (angles, heights, class labels... whatever colours the points meaningfully), plus optional
extras: a triangle mesh, images, labels.
"""
from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Dict, Optional, Tuple

import numpy as np

from vdae_core.foundation.config import Config, param
from vdae_core.foundation.errors import UserInputError
from vdae_core.geometry.exact_manifolds import ExactManifold


@dataclasses.dataclass
class Mesh:
    """A triangle mesh: ``vertices`` (V, 3) float64 and ``faces`` (F, 3) int64."""

    vertices: np.ndarray
    faces: np.ndarray


@dataclasses.dataclass(frozen=True)
class CosineAngleLaw:
    """The law of an angle with density (1 + a cos φ) / 2π on [0, 2π), |a| <= 1 (a = 0: uniform).

    The tube angle of an area-uniform torus of revolution has a = r / R.
    """

    a: float

    def cdf(self, phi: np.ndarray) -> np.ndarray:
        """F(φ) = (φ + a sin φ) / 2π for φ (k,) in [0, 2π)."""
        phi = np.asarray(phi, dtype=np.float64)
        return (phi + self.a * np.sin(phi)) / (2 * np.pi)


@dataclasses.dataclass
class Dataset:
    """Points with ground truth.

    Attributes
    ----------
    name : str
        Registered name or file name.
    X : ndarray, shape (n, m), float32
        The points.
    params : ndarray, shape (n, p), float64
        Ground-truth intrinsic coordinates, one column per entry of ``param_names``.
    param_names : tuple of str
        Names of the columns of ``params``.
    periodic : tuple of bool
        Whether each column of ``params`` is an angle in [0, 2*pi) (used for uniformity tests).
    intrinsic_dim : int
        Dimension d of the manifold (0 for isolated clusters counts as the clusters' dimension).
    suggested_dim : int or None
        A latent dimension D the source states itself (built-in sets), or None (a user's points or mesh):
        then D is read off the points by :meth:`latent_dim_choice`.
    mesh : Mesh or None
        Triangle mesh the points were sampled from, if any.
    face_index : ndarray (n,) or None
        For mesh samples, the face each point lies on.
    images : ndarray (n, h, w) or (n, h, w, 3), uint8, or None
        For image sets, the images (``X`` is their [0, 1]-scaled pixels, flattened channel-first).
    labels : ndarray (n,) int or None
        Cluster or class labels, where the data has them.
    source : str
        Provenance: generator and parameters, or the file it was read from.
    param_laws : dict str -> CosineAngleLaw
        For a periodic parameter whose sampling law is not uniform, that law; uniformity tests compare
        against it instead of the uniform law.
    manifold : ExactManifold or None
        The true manifold, where its distance function is known in closed form (circle, sphere, tori).
    """

    name: str
    X: np.ndarray
    params: np.ndarray
    param_names: Tuple[str, ...]
    periodic: Tuple[bool, ...]
    intrinsic_dim: int
    suggested_dim: Optional[int] = None
    mesh: Optional[Mesh] = None
    face_index: Optional[np.ndarray] = None
    images: Optional[np.ndarray] = None
    labels: Optional[np.ndarray] = None
    source: str = ""
    param_laws: Dict[str, "CosineAngleLaw"] = dataclasses.field(default_factory=dict)
    manifold: Optional[ExactManifold] = None

    def __post_init__(self) -> None:
        self.X = np.ascontiguousarray(self.X, dtype=np.float32)
        self.params = np.asarray(self.params, dtype=np.float64)
        if self.params.ndim == 1:
            self.params = self.params[:, None]
        check_points(self.X, what=f"dataset '{self.name}'")
        if self.params.shape[0] != self.X.shape[0]:
            raise ValueError("params and X have different numbers of rows")
        if len(self.param_names) != self.params.shape[1] or len(self.periodic) != self.params.shape[1]:
            raise ValueError("param_names/periodic must have one entry per params column")
        if set(self.param_laws) - set(self.param_names):
            raise ValueError("param_laws names a parameter the dataset does not have")

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    def latent_dim_choice(self):
        """The latent dimension D for models that leave it to the data, with the reason.

        The built-in set's own number where it states one (``suggested_dim``); otherwise (a user's points
        or mesh) the smallest D whose diffusion coordinates keep the points' neighbourhoods
        (:meth:`data_dim_rule`).

        Returns
        -------
        DimensionChoice or FixedDimension (both have ``dim``, ``reason`` and ``to_dict()``)
        """
        from vdae_core.geometry.diffusion_dimension import FixedDimension

        if self.suggested_dim is not None:
            return FixedDimension(int(self.suggested_dim), f"D = {self.suggested_dim}: set for this built-in "
                                                           "dataset (its quality tests and Table 1 use it).")
        try:
            return self.data_dim_rule()
        except UserInputError as e:  # e.g. points repeated so often that neighbour distances vanish
            D = min(4, max(1, self.ambient_dim))
            return FixedDimension(D, f"D = {D} (min(4, m)): the rule that reads D off the points could not run "
                                     f"here ({e}).")

    def data_dim_rule(self):
        """The rule that reads D off the points, whatever the source states (:func:`vdae_core.geometry.
        diffusion_dimension.diffusion_dimension`; about 0.3 s, remembered per content hash)."""
        return _dimension_of(self.content_hash, self.X)

    def auto_latent_dim(self) -> int:
        """``latent_dim_choice().dim`` (what a model's ``latent_dim = 0`` means for this dataset)."""
        return int(self.latent_dim_choice().dim)

    @property
    def ambient_dim(self) -> int:
        return int(self.X.shape[1])

    @property
    def data_shape(self) -> Tuple[int, ...]:
        """The shape of one data point as models see it: ``(C, H, W)`` for image sets (``X`` holds their
        pixels flattened channel-first), ``(m,)`` otherwise."""
        if self.images is not None:
            h, w = self.images.shape[1:3]
            c = self.images.shape[3] if self.images.ndim == 4 else 1
            if c * h * w == self.ambient_dim:
                return (c, h, w)
        return (self.ambient_dim,)

    def subset(self, idx: np.ndarray) -> "Dataset":
        """The dataset restricted to rows ``idx`` (k,) of every per-point array; the mesh is shared."""
        idx = np.asarray(idx, dtype=np.int64)
        pick = lambda a: None if a is None else a[idx]  # noqa: E731
        return dataclasses.replace(self, X=self.X[idx], params=self.params[idx], face_index=pick(self.face_index),
                                   images=pick(self.images), labels=pick(self.labels))

    @property
    def content_hash(self) -> str:
        """SHA-256 (hex) of the training points ``X`` (shape and float32 bytes): the dataset's identity.

        Two uploads with the same file name but different points get different hashes; the same points
        under another name get the same one.
        """
        import hashlib

        h = hashlib.sha256(repr(self.X.shape).encode())
        h.update(np.ascontiguousarray(self.X, dtype=np.float32).tobytes())
        return h.hexdigest()


_DIMENSIONS: "OrderedDict[str, object]" = OrderedDict()


def _dimension_of(digest: str, X: np.ndarray):
    """:func:`diffusion_dimension` of ``X``, remembered for the last 64 contents (by hash)."""
    from vdae_core.geometry.diffusion_dimension import diffusion_dimension

    hit = _DIMENSIONS.get(digest)
    if hit is None:
        hit = diffusion_dimension(X)
        _DIMENSIONS[digest] = hit
        while len(_DIMENSIONS) > 64:
            _DIMENSIONS.popitem(last=False)
    return hit


@dataclasses.dataclass(frozen=True)
class DataConfig(Config):
    """Which data to build: a registered dataset name or a file path, with its size and seed."""

    dataset: str = param("circle", help="Registered dataset name, or a path to a point-cloud, mesh or image file/folder.")
    n: int = param(2000, help="Number of points (synthetic and mesh data; image sets are subsampled to at most n).",
                   min=10, max=200_000)
    seed: int = param(0, help="Random seed for sampling the data.", min=0)
    noise: float = param(0.0, help="Std of isotropic Gaussian noise added to synthetic points.", min=0.0, max=10.0)
    order: str = param("line", help="For a folder or zip of images, what the file-name order is: 'line' (frames of a "
                       "video or a sweep: the frame number is a coordinate) or 'circle' (a turntable or a loop: the "
                       "last frame is next to the first, so the order is an angle).", choices=("line", "circle"))
    holdout: float = param(0.2, help="Share of a file's points kept out of training to evaluate generated samples "
                           "against (built-in datasets draw fresh samples instead and train on all n).",
                           min=0.0, max=0.5)


def check_points(X: np.ndarray, what: str = "points") -> np.ndarray:
    """Validate a point array (n, m) with :func:`vdae_core.foundation.validation.check_array`; returns it as float32."""
    from vdae_core.foundation.validation import check_array

    return check_array(X, what)


def rng_for(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def add_noise(X: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    if noise > 0:
        X = X + noise * rng.standard_normal(X.shape)
    return X
