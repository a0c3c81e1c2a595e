"""The unit sphere S^d ⊂ R^{d+1} (d = 1: the circle)."""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import MANIFOLDS
from vdae_core.geometry.manifolds.base import Manifold, chord_angle, superscript, unit_rows, wrap_angle


def sphere_log_volume(d: int) -> float:
    """log Vol(S^d) = log(2 π^{(d+1)/2} / Γ((d+1)/2)) for the unit sphere."""
    return math.log(2.0) + 0.5 * (d + 1) * math.log(math.pi) - math.lgamma(0.5 * (d + 1))


def hyperspherical_angles(x: torch.Tensor) -> torch.Tensor:
    """Angles of unit rows x (n, d+1): d − 1 polar angles in [0, π], then an azimuth in [0, 2π).

    The k-th polar angle is measured from axis d+2−k (the last axis first), so for d = 2 they are the
    usual (polar angle from the z axis, azimuth in the xy plane), and for d = 1 the single angle.

    Returns
    -------
    Tensor (n, d)
    """
    d = x.shape[1] - 1
    cols = []
    for k in range(d - 1):
        axis = d - k  # x[:, axis] is the coordinate the polar angle is measured from
        rest = torch.linalg.vector_norm(x[:, :axis], dim=1)
        cols.append(torch.atan2(rest, x[:, axis]))
    cols.append(wrap_angle(torch.atan2(x[:, 1], x[:, 0])))
    return torch.stack(cols, dim=1)


@MANIFOLDS.register("sphere", help="Unit sphere S^d in R^(d+1) (d = 1: the circle), uniform prior.")
class Sphere(Manifold):
    """The unit sphere S^d ⊂ R^{d+1} with the round metric.

    Vol = 2 π^{(d+1)/2} / Γ((d+1)/2), Sc = d (d − 1), geodesic distance = angle between the points.

    Parameters
    ----------
    dim : int
        d >= 1 (default 2).
    """

    name = "sphere"
    is_compact = True

    @property
    def heat_kernel_t_max(self) -> float:  # type: ignore[override]
        """0.5 on the flat circle S¹ (winding error 2.6e-5), else the curved spaces' 0.05."""
        return 0.5 if self.dim == 1 else 0.05

    def __init__(self, dim: int = 2):
        if int(dim) < 1:
            raise UserInputError(f"S^d needs d >= 1, got {dim}")
        super().__init__(int(dim), (int(dim) + 1,))

    def params(self) -> Dict[str, Any]:
        return {"dim": self.dim}

    def gaussian_pushforward_dims(self) -> Tuple[int, ...]:
        """d + 1 (u/|u|), and 1 on the circle (the angle 2πΦ(u))."""
        return (self.dim + 1,) + ((1,) if self.dim == 1 else ())

    def from_gaussian(self, u: torch.Tensor) -> torch.Tensor:
        """A fixed map R^k -> S^d ⊂ R^{d+1} that carries N(0, I_k) to the uniform law exactly.

        k = d + 1: u/|u| (the direction of a standard Gaussian is uniform). k = 1 onto S¹: the angle 2πΦ(u), Φ the
        normal CDF (Φ(u) is uniform on [0, 1]): the ER paper's f_proj(z) = (cos 2πz, sin 2πz) of §4, read on a
        Gaussian latent instead of its uniform one, whose two tails meet at one point of the circle.

        Parameters
        ----------
        u : Tensor (n, k), k in :meth:`gaussian_pushforward_dims`

        Returns
        -------
        Tensor (n, d + 1)
        """
        k = u.shape[1]
        if k not in self.gaussian_pushforward_dims():
            raise UserInputError(f"the exact map onto {self.label} takes k in {self.gaussian_pushforward_dims()}, got {k}")
        if k == 1:
            a = 2 * torch.pi * 0.5 * (1 + torch.erf(u[:, 0] / 2 ** 0.5))
            return torch.stack([torch.cos(a), torch.sin(a)], 1)
        return u / u.norm(dim=1, keepdim=True).clamp_min(1e-12)

    @property
    def label(self) -> str:
        return "S" + superscript(self.dim)

    @property
    def coord_names(self) -> Tuple[str, ...]:
        if self.dim == 1:
            return ("theta",)
        if self.dim == 2:
            return ("polar", "azimuth")
        return tuple(f"polar{k + 1}" for k in range(self.dim - 1)) + ("azimuth",)

    @property
    def coord_periodic(self) -> Tuple[bool, ...]:
        return (False,) * (self.dim - 1) + (True,)

    def projection(self, x: torch.Tensor) -> torch.Tensor:
        """x / |x| (the origin goes to the last basis vector). x (n, d+1) -> (n, d+1)."""
        return unit_rows(self.check_points(x))

    def belongs(self, x: torch.Tensor, atol: float = 1e-5) -> torch.Tensor:
        """| |x| − 1 | <= atol. x (n, d+1) -> bool (n,)."""
        return (torch.linalg.vector_norm(self.check_points(x), dim=1) - 1.0).abs() <= atol

    def random_uniform(self, n: int, generator: torch.Generator, *, dtype: Optional[torch.dtype] = None,
                       device: Any = None) -> torch.Tensor:
        """Normalised standard Gaussians (rotation invariant, hence uniform). -> (n, d+1)."""
        return unit_rows(self._noise(n, generator, dtype=dtype, device=device))

    def geodesic_distance(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Great-circle distance, the angle 2 atan2(|x − y|, |x + y|) (accurate at 0 and π). -> (n,)."""
        return chord_angle(self.check_points(x), y)

    def log_volume(self) -> float:
        return sphere_log_volume(self.dim)

    def scalar_curvature(self, x: torch.Tensor) -> torch.Tensor:
        """d (d − 1), constant. x (n, d+1) -> (n,)."""
        x = self.check_points(x)
        return torch.full((x.shape[0],), float(self.dim * (self.dim - 1)), dtype=x.dtype, device=x.device)

    def intrinsic_coords(self, x):
        """Hyperspherical angles (n, d): the angle θ for S¹, (polar, azimuth) for S²."""
        if isinstance(x, np.ndarray):
            return hyperspherical_angles(torch.as_tensor(x, dtype=torch.float64)).numpy()
        return hyperspherical_angles(self.check_points(x))
