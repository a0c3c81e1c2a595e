"""Closed-form distance from points to the true manifold of a synthetic dataset.

The distance to the nearest *data point* mixes two things: how far a sample is off the manifold and
how far it is along the manifold from the nearest sample (even an exact sampler sits about one data
spacing from the data). Where the manifold is known in closed form, the distance to the manifold itself
measures the first alone.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict

import numpy as np

_KINDS = ("circle", "sphere", "torus", "flat_torus")


@dataclasses.dataclass(frozen=True)
class ExactManifold:
    """A manifold with a closed-form Euclidean distance.

    Attributes
    ----------
    kind : str
        ``circle`` (unit circle in the plane z = 0 of R^3, then rotated by ``rotation``), ``sphere``
        (sphere of ``radius`` about the origin of R^3), ``torus`` (torus of revolution about the z axis,
        radii ``R`` > ``r``) or ``flat_torus`` (S¹ x S¹ in R^4: unit circles in coordinates 1-2 and 3-4).
    params : dict
        ``rotation`` (3x3 nested list) for the circle, ``radius`` for the sphere, ``R`` and ``r`` for the torus.
    """

    kind: str
    params: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown manifold kind {self.kind!r}; expected one of {_KINDS}")

    def distance(self, X: np.ndarray) -> np.ndarray:
        """Euclidean distance of each point to the manifold.

        Parameters
        ----------
        X : ndarray (n, m)
            m = 3, or 4 for the flat torus.

        Returns
        -------
        ndarray (n,), float64
        """
        X = np.asarray(X, dtype=np.float64)
        if self.kind == "circle":
            # Rows of X are Y @ Rᵀ with Y in the plane z = 0, so Y = X @ R.
            Y = X @ np.asarray(self.params["rotation"], dtype=np.float64)
            return np.hypot(np.hypot(Y[:, 0], Y[:, 1]) - 1.0, Y[:, 2])
        # The others are latent-space classes too: the distance is |x − P(x)|, P their projection.
        import torch

        from .manifolds import FlatTorus, Sphere, Torus

        scale = 1.0
        if self.kind == "sphere":
            space, scale = Sphere(dim=2), float(self.params.get("radius", 1.0))
        elif self.kind == "torus":
            space = Torus(R=float(self.params["R"]), r=float(self.params["r"]))
        else:
            space = FlatTorus()
        x = torch.from_numpy(X / scale)
        return scale * torch.linalg.vector_norm(x - space.projection(x), dim=1).numpy()

    def to_dict(self) -> Dict[str, Any]:
        return {"kind": self.kind, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "ExactManifold":
        return cls(d["kind"], dict(d.get("params", {})))
