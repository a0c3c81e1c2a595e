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

#: Each kind as a latent-space class of ``MANIFOLDS`` (registry name, fixed constructor arguments); ``R`` and
#: ``r`` of the torus come from the params. The circle is S¹ ⊂ R² placed in R³ by its rotation.
_SPACES: Dict[str, Any] = {"circle": ("sphere", {"dim": 1}), "sphere": ("sphere", {"dim": 2}),
                           "torus": ("torus", {}), "flat_torus": ("flat_torus", {})}
_KINDS = tuple(_SPACES)


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
        import torch

        from vdae_core.geometry.manifolds import MANIFOLDS

        X = np.asarray(X, dtype=np.float64)
        name, fixed = _SPACES[self.kind]
        space = MANIFOLDS.get(name)(**fixed, **{k: float(v) for k, v in self.params.items() if k in ("R", "r")})
        if "rotation" in self.params:
            X = X @ np.asarray(self.params["rotation"], dtype=np.float64)  # rows are Y @ Rᵀ: back to Y = X @ R
        scale = float(self.params.get("radius", 1.0))
        Y = X / scale
        k = space.ambient_dim                    # the space's own coordinates; the rest lie off it (circle: z)
        inner = torch.from_numpy(np.ascontiguousarray(Y[:, :k]))
        gap = (inner - space.projection(inner)).pow(2).sum(1).numpy() + (Y[:, k:] ** 2).sum(1)
        return scale * np.sqrt(gap)

    def to_dict(self) -> Dict[str, Any]:
        return {"kind": self.kind, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "ExactManifold":
        return cls(d["kind"], dict(d.get("params", {})))
