"""Real projective space RP^d: S^d with antipodal points identified, stored as unit vectors in R^{d+1}."""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import MANIFOLDS
from vdae_core.geometry.manifolds.base import Manifold, chord_angle, superscript, unit_rows
from vdae_core.geometry.manifolds.sphere import sphere_log_volume


@MANIFOLDS.register("projective", help="Real projective space RP^d (S^d with antipodes identified), uniform prior.")
class ProjectiveSpace(Manifold):
    """RP^d with the metric of S^d / ±1: Vol = Vol(S^d)/2, Sc = d (d − 1), distance arccos |x · y| <= π/2.

    A point is stored as either of its two unit representatives ±x ∈ S^d; every method gives the same
    answer for both. :meth:`canonical` picks the one in the upper hemisphere (last coordinate >= 0).

    Parameters
    ----------
    dim : int
        d >= 1 (default 2). RP¹ is a circle of length π.
    """

    name = "projective"
    is_compact = True

    def __init__(self, dim: int = 2):
        if int(dim) < 1:
            raise UserInputError(f"RP^d needs d >= 1, got {dim}")
        super().__init__(int(dim), (int(dim) + 1,))

    def params(self) -> Dict[str, Any]:
        return {"dim": self.dim}

    @property
    def label(self) -> str:
        return "RP" + superscript(self.dim)

    @property
    def coord_names(self) -> Tuple[str, ...]:
        return tuple(f"u{i + 1}" for i in range(self.dim))

    @property
    def coord_periodic(self) -> Tuple[bool, ...]:
        return (False,) * self.dim

    def canonical(self, x: torch.Tensor) -> torch.Tensor:
        """The representative with last coordinate >= 0 (ties on the equator are left as they are).

        x (n, d+1) -> (n, d+1)
        """
        x = self.check_points(x)
        return torch.where(x[:, -1:] < 0, -x, x)

    def projection(self, x: torch.Tensor) -> torch.Tensor:
        """x / |x|, the sphere's projection (either sign represents the same point). -> (n, d+1)."""
        return unit_rows(self.check_points(x))

    def belongs(self, x: torch.Tensor, atol: float = 1e-5) -> torch.Tensor:
        """| |x| − 1 | <= atol, as for the sphere. x (n, d+1) -> bool (n,)."""
        return (torch.linalg.vector_norm(self.check_points(x), dim=1) - 1.0).abs() <= atol

    def random_uniform(self, n: int, generator: torch.Generator, *, dtype: Optional[torch.dtype] = None,
                       device: Any = None) -> torch.Tensor:
        """Uniform points of S^d, each a representative of a uniform point of RP^d. -> (n, d+1).

        The representatives are not canonicalised (use :meth:`canonical`), so the law of the stored
        vectors is itself rotation invariant.
        """
        return unit_rows(self._noise(n, generator, dtype=dtype, device=device))

    def geodesic_distance(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """arccos |x · y|: the angle from x to the nearer of ±y, in [0, π/2]. -> (n,)."""
        x = self.check_points(x)
        return torch.minimum(chord_angle(x, y), chord_angle(x, -y))

    def chordal_distance(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """min(|x − y|, |x + y|): the ambient distance between the nearest representatives. -> (n,)."""
        return torch.minimum(torch.linalg.vector_norm(x - y, dim=1), torch.linalg.vector_norm(x + y, dim=1))

    def pairwise_chordal(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """min(|x − y|, |x + y|) for all pairs. x (n, d+1), y (k, d+1) -> (n, k)."""
        return torch.minimum(torch.cdist(x, y), torch.cdist(x, -y))

    def log_volume(self) -> float:
        return sphere_log_volume(self.dim) - math.log(2.0)

    def scalar_curvature(self, x: torch.Tensor) -> torch.Tensor:
        """d (d − 1), constant (locally RP^d is the unit sphere). -> (n,)."""
        x = self.check_points(x)
        return torch.full((x.shape[0],), float(self.dim * (self.dim - 1)), dtype=x.dtype, device=x.device)

    def intrinsic_coords(self, x):
        """The ball model: the upper-hemisphere representative without its last coordinate, (n, d).

        Points of the boundary sphere |u| = 1 are identified with their antipodes (-u).
        """
        if isinstance(x, np.ndarray):
            return self.intrinsic_coords(torch.as_tensor(x, dtype=torch.float64)).numpy()
        return self.canonical(x)[:, :-1].clone()
