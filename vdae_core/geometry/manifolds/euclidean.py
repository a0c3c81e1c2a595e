"""Euclidean latent space R^d: the standard VAE's, with the Gaussian prior N(0, I)."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import MANIFOLDS
from vdae_core.geometry.manifolds.base import Manifold, Std, superscript


@MANIFOLDS.register("euclidean", help="Euclidean space R^d (the standard VAE's latent space, prior N(0, I)).")
class Euclidean(Manifold):
    """R^d with its flat metric. Not compact: the prior is N(0, I), not a uniform law.

    Parameters
    ----------
    dim : int
        d >= 1 (default 2).
    """

    name = "euclidean"
    is_compact = False

    def __init__(self, dim: int = 2):
        if int(dim) < 1:
            raise UserInputError(f"R^d needs d >= 1, got {dim}")
        super().__init__(int(dim), (int(dim),))

    def params(self) -> Dict[str, Any]:
        return {"dim": self.dim}

    @property
    def label(self) -> str:
        return "R" + superscript(self.dim)

    @property
    def coord_names(self) -> Tuple[str, ...]:
        return tuple(f"z{i + 1}" for i in range(self.dim))

    @property
    def coord_periodic(self) -> Tuple[bool, ...]:
        return (False,) * self.dim

    def projection(self, x: torch.Tensor) -> torch.Tensor:
        """Identity. x (n, d) -> (n, d)."""
        return self.check_points(x)

    def belongs(self, x: torch.Tensor, atol: float = 1e-5) -> torch.Tensor:
        """Finite rows. x (n, d) -> bool (n,)."""
        return torch.isfinite(self.check_points(x)).all(dim=1)

    def random_normal(self, n: int, generator: torch.Generator, *, dtype: Optional[torch.dtype] = None,
                      device: Any = None) -> torch.Tensor:
        """n draws of the standard Gaussian N(0, I_d) -> (n, d)."""
        return self._noise(n, generator, dtype=dtype, device=device)

    def prior_sample(self, n: int, generator: torch.Generator, *, dtype: Optional[torch.dtype] = None,
                     device: Any = None) -> torch.Tensor:
        """The standard VAE prior N(0, I_d) -> (n, d)."""
        return self.random_normal(n, generator, dtype=dtype, device=device)

    def geodesic_distance(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Euclidean distance. x, y (n, d) -> (n,)."""
        return torch.linalg.vector_norm(self.check_points(x) - y, dim=1)

    def pairwise_geodesic(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x (n, d), y (k, d) -> (n, k)."""
        return torch.cdist(x, y)

    def log_volume(self) -> float:
        raise UserInputError(f"{self.label} has infinite volume (it is not compact)")

    def scalar_curvature(self, x: torch.Tensor) -> torch.Tensor:
        """Zero. x (n, d) -> (n,)."""
        return torch.zeros(self.check_points(x).shape[0], dtype=x.dtype, device=x.device)

    def mean_scalar_curvature(self) -> float:
        return 0.0

    def intrinsic_coords(self, x):
        """The coordinates themselves, (n, d); ndarray in, ndarray out."""
        return np.array(x, copy=True) if isinstance(x, np.ndarray) else self.check_points(x).clone()

    def heat_kernel_kl(self, t: Std, x: Optional[torch.Tensor] = None, coefficient: str = "parametrix") -> torch.Tensor:
        """KL(N(x, t I) ‖ N(0, I)) = ½ (d t + |x|² − d − d log t), the standard VAE's KL term.

        R^d has no uniform law, so the KL is taken to the Gaussian prior instead, exactly (the heat
        kernel of ½Δ on R^d is N(x, t I)); ``coefficient`` is ignored.

        Parameters
        ----------
        t : float or Tensor (n,)
        x : Tensor (n, d)
            Required: the KL depends on where the kernel is centred.

        Returns
        -------
        Tensor (n,)
        """
        if x is None:
            raise UserInputError(f"on {self.label} the KL to the prior N(0, I) depends on the centre: pass x")
        x = self.check_points(x)
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        d = self.dim
        return 0.5 * (d * t + (x * x).sum(dim=1) - d - d * torch.log(t))

