"""The flat torus S¹ × S¹ ⊂ R⁴ (Clifford torus): unit circles in coordinates 1-2 and 3-4."""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from ...registry import MANIFOLDS
from .base import Manifold, chord_angle, unit_rows, wrap_angle


@MANIFOLDS.register("flat_torus", help="Flat torus S¹×S¹ in R^4 (two unit circles), uniform prior.")
class FlatTorus(Manifold):
    """S¹ × S¹ ⊂ R⁴ with the product (flat) metric: Vol = 4π², Sc = 0.

    The geodesic distance is sqrt(Δθ² + Δφ²) with each angle difference wrapped to [0, π].
    """

    name = "flat_torus"
    is_compact = True
    heat_kernel_t_max = 0.5  # winding terms round each circle: 2.6e-5 at t = 0.5

    def __init__(self) -> None:
        super().__init__(2, (4,))

    def params(self) -> Dict[str, Any]:
        return {}

    @property
    def label(self) -> str:
        return "T² (flat)"

    @property
    def coord_names(self) -> Tuple[str, ...]:
        return ("theta", "phi")

    @property
    def coord_periodic(self) -> Tuple[bool, ...]:
        return (True, True)

    def projection(self, x: torch.Tensor) -> torch.Tensor:
        """Each coordinate pair scaled to unit norm. x (n, 4) -> (n, 4)."""
        x = self.check_points(x)
        return torch.cat([unit_rows(x[:, :2]), unit_rows(x[:, 2:])], dim=1)

    def belongs(self, x: torch.Tensor, atol: float = 1e-5) -> torch.Tensor:
        """Both pairs of unit norm within atol. x (n, 4) -> bool (n,)."""
        x = self.check_points(x)
        a = (torch.linalg.vector_norm(x[:, :2], dim=1) - 1.0).abs()
        b = (torch.linalg.vector_norm(x[:, 2:], dim=1) - 1.0).abs()
        return (a <= atol) & (b <= atol)

    def random_uniform(self, n: int, generator: torch.Generator, *, dtype: Optional[torch.dtype] = None,
                       device: Any = None) -> torch.Tensor:
        """Two independent uniform angles (the flat area element is dθ dφ). -> (n, 4)."""
        g = self._noise(n, generator, dtype=dtype, device=device)
        return torch.cat([unit_rows(g[:, :2]), unit_rows(g[:, 2:])], dim=1)

    def geodesic_distance(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """sqrt(Δθ² + Δφ²), Δ the angle on each circle. x, y (n, 4) -> (n,)."""
        x = self.check_points(x)
        return torch.hypot(chord_angle(x[:, :2], y[:, :2]), chord_angle(x[:, 2:], y[:, 2:]))

    def log_volume(self) -> float:
        return math.log(4 * math.pi ** 2)

    def scalar_curvature(self, x: torch.Tensor) -> torch.Tensor:
        """Zero. x (n, 4) -> (n,)."""
        return torch.zeros(self.check_points(x).shape[0], dtype=x.dtype, device=x.device)

    def intrinsic_coords(self, x):
        """(θ, φ) in [0, 2π)², (n, 2); ndarray in, ndarray out."""
        if isinstance(x, np.ndarray):
            return self.intrinsic_coords(torch.as_tensor(x, dtype=torch.float64)).numpy()
        x = self.check_points(x)
        return torch.stack([wrap_angle(torch.atan2(x[:, 1], x[:, 0])), wrap_angle(torch.atan2(x[:, 3], x[:, 2]))], 1)
