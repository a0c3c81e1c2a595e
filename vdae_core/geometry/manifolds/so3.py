"""The rotation group SO(3) ⊂ R^{3×3} with the metric induced by the Frobenius inner product.

The Frobenius metric is twice the "standard" bi-invariant metric ½ tr(AᵀB), in which a rotation about a
unit axis at unit angular speed has speed 1. With the standard metric SO(3) is isometric to RP³ of radius
2 (unit quaternions q and −q give the same rotation, and an angle θ is an arc θ/2 of the unit S³):
Vol = 8π², Sc = 3/2. Doubling the metric multiplies lengths by √2, volumes by (√2)³ and divides the
scalar curvature by 2, so here

    d(R, S) = √2 θ,   θ = rotation angle of RᵀS ∈ [0, π],   Vol = 16√2 π²,   Sc = 3/4.

The intrinsic dimension is 3 and the ambient one 9; the projected random walk adds isotropic noise in
R⁹, whose tangent part is isotropic for the Frobenius metric, so E d² ≈ 3 t as on any 3-manifold.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from ...registry import MANIFOLDS
from .base import Manifold, unit_rows


class _SpecialPolar(torch.autograd.Function):
    """R = U diag(1, 1, det(U Vᵀ)) Vᵀ for M = U Σ Vᵀ: the rotation nearest to M in Frobenius norm.

    Autograd through ``torch.linalg.svd`` is unstable here: near SO(3) the singular values are all
    close to 1 and the SVD's gradient divides by their differences. The polar factor's gradient only
    divides by their sums. Write M = R S with S = V diag(s) Vᵀ symmetric, s = Σ · diag(1, 1, ±1); then
    dR = R Ω with Ω antisymmetric and S Ω + Ω S = RᵀdM − dMᵀR, which in the V basis reads
    Ω̃_ij = Ã_ij / (s_i + s_j). Its adjoint is ∂L/∂M = R V (C − Cᵀ) Vᵀ with C_ij = (VᵀRᵀ G V)_ij/(s_i + s_j).
    """

    @staticmethod
    def forward(ctx, M: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        U, S, Vh = torch.linalg.svd(M)
        det = torch.linalg.det(U @ Vh)
        sign = torch.where(det < 0, -torch.ones_like(det), torch.ones_like(det))
        flip = torch.ones_like(S)
        flip[..., 2] = sign
        U = U * flip.unsqueeze(-2)  # multiplies the last column of U by det(UVᵀ)
        R = U @ Vh
        ctx.save_for_backward(R, Vh, S * flip)
        return R

    @staticmethod
    def backward(ctx, G: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        R, Vh, s = ctx.saved_tensors
        V = Vh.transpose(-1, -2)
        B = Vh @ R.transpose(-1, -2) @ G @ V
        denom = s.unsqueeze(-1) + s.unsqueeze(-2)
        tiny = torch.finfo(denom.dtype).tiny
        denom = torch.where(denom.abs() < tiny, torch.full_like(denom, tiny), denom)
        C = B / denom
        return R @ V @ (C - C.transpose(-1, -2)) @ Vh


def special_polar(M: torch.Tensor) -> torch.Tensor:
    """Nearest rotation to each matrix of M (n, 3, 3), differentiable where M is nonsingular."""
    return _SpecialPolar.apply(M)


def quaternion_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (n, 3, 3) of unit quaternions q = (w, x, y, z) (n, 4)."""
    w, x, y, z = q.unbind(-1)
    rows = [
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ]
    return torch.stack(rows, dim=-1).reshape(*q.shape[:-1], 3, 3)


def matrix_to_quaternion(R: torch.Tensor) -> torch.Tensor:
    """Unit quaternions (n, 4), w >= 0, of rotation matrices R (n, 3, 3), by Shepperd's method.

    Of the four classical formulas, each row uses the one whose square root is largest (tr R or a
    diagonal entry), which keeps every division well conditioned.
    """
    m = R
    m00, m11, m22 = m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]
    tr = m00 + m11 + m22
    a21, a02, a10 = m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0], m[:, 1, 0] - m[:, 0, 1]
    s01, s02, s12 = m[:, 0, 1] + m[:, 1, 0], m[:, 0, 2] + m[:, 2, 0], m[:, 1, 2] + m[:, 2, 1]

    def root(v: torch.Tensor) -> torch.Tensor:
        return 0.5 * torch.sqrt(torch.clamp(1.0 + v, min=1e-12))

    w0 = root(tr)
    q0 = torch.stack([w0, a21 / (4 * w0), a02 / (4 * w0), a10 / (4 * w0)], -1)
    x1 = root(m00 - m11 - m22)
    q1 = torch.stack([a21 / (4 * x1), x1, s01 / (4 * x1), s02 / (4 * x1)], -1)
    y2 = root(m11 - m00 - m22)
    q2 = torch.stack([a02 / (4 * y2), s01 / (4 * y2), y2, s12 / (4 * y2)], -1)
    z3 = root(m22 - m00 - m11)
    q3 = torch.stack([a10 / (4 * z3), s02 / (4 * z3), s12 / (4 * z3), z3], -1)
    which = torch.stack([tr, m00, m11, m22], -1).argmax(-1)
    q = torch.stack([q0, q1, q2, q3], 1).gather(1, which.view(-1, 1, 1).expand(-1, 1, 4)).squeeze(1)
    q = unit_rows(q)
    return torch.where(q[:, :1] < 0, -q, q)


def rotation_angle(M: torch.Tensor) -> torch.Tensor:
    """Rotation angle θ ∈ [0, π] of each rotation M (n, 3, 3).

    θ = atan2(sin θ, cos θ) with sin θ = |vee(M − Mᵀ)| / 2 and cos θ = (tr M − 1)/2: accurate near both 0
    and π, where arccos((tr M − 1)/2) loses half the digits.
    """
    vee = torch.stack([M[:, 2, 1] - M[:, 1, 2], M[:, 0, 2] - M[:, 2, 0], M[:, 1, 0] - M[:, 0, 1]], -1)
    s = 0.5 * torch.linalg.vector_norm(vee, dim=-1)
    c = 0.5 * (M[:, 0, 0] + M[:, 1, 1] + M[:, 2, 2] - 1.0)
    return torch.atan2(s, c)


@MANIFOLDS.register("so3", help="Rotation group SO(3) (3x3 matrices, Frobenius metric), uniform (Haar) prior.")
class SO3(Manifold):
    """SO(3) ⊂ R⁹ with the Frobenius-induced metric; see the module docstring for the constants."""

    name = "so3"
    is_compact = True

    def __init__(self) -> None:
        super().__init__(3, (3, 3))

    def params(self) -> Dict[str, Any]:
        return {}

    @property
    def label(self) -> str:
        return "SO(3)"

    @property
    def coord_names(self) -> Tuple[str, ...]:
        return ("omega_x", "omega_y", "omega_z")

    @property
    def coord_periodic(self) -> Tuple[bool, ...]:
        return (False, False, False)

    def projection(self, x: torch.Tensor) -> torch.Tensor:
        """Nearest rotation U diag(1, 1, det(UVᵀ)) Vᵀ, from the SVD x = U Σ Vᵀ. x (n, 3, 3) -> (n, 3, 3)."""
        return special_polar(self.check_points(x))

    def belongs(self, x: torch.Tensor, atol: float = 1e-5) -> torch.Tensor:
        """RᵀR = I and det R = 1 within atol (max entry). x (n, 3, 3) -> bool (n,)."""
        x = self.check_points(x)
        eye = torch.eye(3, dtype=x.dtype, device=x.device)
        orth = (x.transpose(-1, -2) @ x - eye).abs().amax(dim=(-1, -2)) <= atol
        return orth & ((torch.linalg.det(x) - 1.0).abs() <= atol)

    def random_uniform(self, n: int, generator: torch.Generator, *, dtype: Optional[torch.dtype] = None,
                       device: Any = None) -> torch.Tensor:
        """Haar-uniform rotations from uniform unit quaternions (normalised Gaussians in R⁴). -> (n, 3, 3).

        The double cover S³ -> SO(3) is a local isometry up to a constant factor, so it carries the
        uniform law of S³ to the uniform law of SO(3) for any bi-invariant metric, this one included.
        """
        dtype = dtype or torch.get_default_dtype()
        q = torch.randn((n, 4), generator=generator, dtype=dtype, device=generator.device).to(device or "cpu")
        return quaternion_to_matrix(unit_rows(q))

    def geodesic_distance(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """√2 θ, θ the rotation angle of xᵀy. x, y (n, 3, 3) -> (n,)."""
        x = self.check_points(x)
        return math.sqrt(2.0) * rotation_angle(x.transpose(-1, -2) @ y)

    def log_volume(self) -> float:
        return math.log(16 * math.sqrt(2.0) * math.pi ** 2)

    def scalar_curvature(self, x: torch.Tensor) -> torch.Tensor:
        """3/4, constant. x (n, 3, 3) -> (n,)."""
        x = self.check_points(x)
        return torch.full((x.shape[0],), 0.75, dtype=x.dtype, device=x.device)

    def intrinsic_coords(self, x):
        """Axis-angle vector ω = θ · axis, |ω| = θ ∈ [0, π], (n, 3); ndarray in, ndarray out.

        The ball |ω| <= π with antipodal points of its boundary identified is SO(3) (the ΔVAE's Fig. 3).
        """
        if isinstance(x, np.ndarray):
            return self.intrinsic_coords(torch.as_tensor(x, dtype=torch.float64)).numpy()
        q = matrix_to_quaternion(self.check_points(x))
        w, v = q[:, :1], q[:, 1:]
        s = torch.linalg.vector_norm(v, dim=1, keepdim=True)
        small = s < 1e-12
        # θ/|v| = 2 atan2(|v|, w)/|v|, which tends to 2/w as |v| -> 0.
        factor = torch.where(small, 2.0 / w, 2.0 * torch.atan2(s, w) / torch.where(small, torch.ones_like(s), s))
        return factor * v
