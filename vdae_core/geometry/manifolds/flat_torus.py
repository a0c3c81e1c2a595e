"""The flat torus S¹ × S¹ ⊂ R⁴ (Clifford torus): unit circles in coordinates 1-2 and 3-4."""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from vdae_core.foundation.registry import MANIFOLDS
from vdae_core.geometry.manifolds.base import Manifold, chord_angle, unit_rows, wrap_angle


@MANIFOLDS.register("flat_torus", help="Flat torus S¹×S¹ in R^4 (two unit circles), uniform prior.")
class FlatTorus(Manifold):
    """S¹ × S¹ ⊂ R⁴ with the product (flat) metric: Vol = 4π², Sc = 0.

    The geodesic distance is sqrt(Δθ² + Δφ²) with each angle difference wrapped to [0, π].
    """

    name = "flat_torus"
    is_compact = True
    heat_kernel_t_max = 0.5  # winding terms round each circle: 2.6e-5 at t = 0.5
    time_factors = 2
    # The torus of revolution's tube angle settles at steps 200-400 (its loss at step 100 does not yet tell
    # a homeomorphic code from a dead end: 7.9-9.0 for both; at step 300, 5.27-5.32 against 5.99-8.77).
    settle_steps = 300

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

    # Per-circle diffusion times. The heat kernel of S¹ × S¹ is the product of the circles' kernels, so Brownian
    # motion run for time t₁ on the first circle and t₂ on the second is exact and its KL to the uniform law
    # is the sum of the two circles' KLs (each −½ log(2π tᵢ) − ½ + log 2π, Sc = 0).
    def walk_step(self, x: torch.Tensor, std, generator: torch.Generator) -> torch.Tensor:
        """As :meth:`Manifold.walk_step`; ``std`` may also be (n, 2): one standard deviation per circle."""
        std = torch.as_tensor(std, dtype=x.dtype, device=x.device)
        if std.dim() == 2 and std.shape[1] == 2:
            std = std.repeat_interleave(2, dim=1)                            # (n, 4): (s₁, s₁, s₂, s₂)
        return super().walk_step(x, std, generator)

    def _broadcast_rows(self, v, x: torch.Tensor) -> torch.Tensor:
        v = torch.as_tensor(v, dtype=x.dtype, device=x.device)
        if v.dim() == 2 and v.shape[1] == 4:
            return v
        return super()._broadcast_rows(v, x)

    def heat_kernel_kl(self, t, x: Optional[torch.Tensor] = None, coefficient: str = "parametrix") -> torch.Tensor:
        """As :meth:`Manifold.heat_kernel_kl`; with ``t`` of shape (n, 2), the sum of the two circles' KLs."""
        if isinstance(t, torch.Tensor) and t.dim() == 2 and t.shape[1] == 2:
            dtype = x.dtype if x is not None else t.dtype
            t = t.to(dtype)
            return (-0.5 * torch.log(2 * math.pi * t) - 0.5 + math.log(2 * math.pi)).sum(1)
        return super().heat_kernel_kl(t, x, coefficient)

    def scalar_curvature(self, x: torch.Tensor) -> torch.Tensor:
        """Zero. x (n, 4) -> (n,)."""
        return torch.zeros(self.check_points(x).shape[0], dtype=x.dtype, device=x.device)

    def intrinsic_coords(self, x):
        """(θ, φ) in [0, 2π)², (n, 2); ndarray in, ndarray out."""
        if isinstance(x, np.ndarray):
            return self.intrinsic_coords(torch.as_tensor(x, dtype=torch.float64)).numpy()
        x = self.check_points(x)
        return torch.stack([wrap_angle(torch.atan2(x[:, 1], x[:, 0])), wrap_angle(torch.atan2(x[:, 3], x[:, 2]))], 1)
