"""The latent-space contract: a Riemannian manifold embedded in Euclidean space (geomstats style).

A :class:`Manifold` is a smooth submanifold Z of R^m (m = ``ambient_dim``) with the *induced* metric,
the Riemannian metric that the embedding pulls back from R^m. Points are stored in ambient coordinates:
one point has shape ``shape`` (``(3,)`` for S², ``(3, 3)`` for SO(3)) and a batch has shape
``(n, *shape)``. Everything is torch, works in float32 and float64 on any device, and takes its
randomness from an explicit CPU :class:`torch.Generator` (drawn on the CPU, then moved), so a CPU run
and a GPU run see the same noise.

The ΔVAE (Rey, Menkovski & Portegies, "Diffusion variational autoencoders", 2019) uses three things a
latent space must provide: the closest-point projection P (§3.2), the random walk
z_{k+1} = P(z_k + sqrt(t/N) ε_k) that approximates Brownian motion for the reparametrisation trick
(§3.6), and the small-time asymptotic KL divergence of the heat kernel to the uniform prior (§3.7).
"""
from __future__ import annotations

import abc
import math
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import torch

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.text import superscript  # noqa: F401  (the manifolds' labels, S² and RP³, import it here)

Std = Union[float, torch.Tensor]


def wrap_angle(a: torch.Tensor) -> torch.Tensor:
    """Angles mapped to [0, 2π), the convention of the datasets' periodic parameters."""
    return torch.remainder(a, 2 * math.pi)


def unit_rows(x: torch.Tensor, eps: float = 1e-30) -> torch.Tensor:
    """Rows of x (n, k) scaled to unit norm; a zero row becomes the last basis vector.

    The projection onto a sphere is undefined at the origin; any fixed choice keeps the output on the
    manifold (and finite), which matters more there than differentiability.
    """
    norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    fallback = torch.zeros_like(x)
    fallback[..., -1] = 1.0
    zero = norm <= eps
    return torch.where(zero, fallback, x / torch.where(zero, torch.ones_like(norm), norm))


def chord_angle(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Angle between unit rows x, y (n, k), as 2 atan2(|x − y|, |x + y|): accurate near 0 and near π.

    ``arccos(x · y)`` loses half the digits near 0 and π (its derivative is infinite there).
    """
    a = torch.linalg.vector_norm(x - y, dim=-1)
    b = torch.linalg.vector_norm(x + y, dim=-1)
    return 2.0 * torch.atan2(a, b)


class Manifold(abc.ABC):
    """A Riemannian manifold embedded in R^``ambient_dim``, with the induced metric.

    Subclasses set the class attributes ``name`` (their registry name) and ``is_compact``, call
    ``Manifold.__init__(self, dim, shape)`` and implement the abstract methods.

    Attributes
    ----------
    dim : int
        Intrinsic dimension d.
    shape : tuple of int
        Shape of one point in ambient coordinates.
    ambient_dim : int
        ``prod(shape)``, the m of R^m.
    name : str
        Registry name (``MANIFOLDS.get(name)`` is the class).
    is_compact : bool
        Compact spaces have a uniform law (``random_uniform``) and a finite volume.
    time_factors : int
        Independent factors of a product manifold (per-factor diffusion times allowed when > 1).
    heat_kernel_t_max : float
        Largest diffusion time t at which the small-time KL of :meth:`heat_kernel_kl` is accurate to about
        5e-5 (curved spaces 0.05; flat ones, where the only error is the winding terms, larger).
    settle_steps : int
        Gradient steps after which a code learnt onto this space has settled its topology (its degree round
        each circle), so that the training loss tells a homeomorphic code from a dead end; the ΔVAE's
        restarts train each initialisation this long.
    """

    name: str = ""
    is_compact: bool = True
    heat_kernel_t_max: float = 0.05
    #: Factors of a product manifold whose heat kernel factorises (flat torus: 2), so each may diffuse for its
    #: own time: :meth:`random_walk` and :meth:`heat_kernel_kl` then accept times of shape (n, time_factors).
    time_factors: int = 1
    settle_steps: int = 100

    def __init__(self, dim: int, shape: Tuple[int, ...]):
        self.dim = int(dim)
        self.shape = tuple(int(s) for s in shape)

    # ----------------------------------------------------------------- description and serialisation
    @property
    def ambient_dim(self) -> int:
        return int(np.prod(self.shape))

    @property
    @abc.abstractmethod
    def label(self) -> str:
        """Short display name, e.g. ``"S²"``."""

    @property
    @abc.abstractmethod
    def coord_names(self) -> Tuple[str, ...]:
        """Names of the ``dim`` columns of :meth:`intrinsic_coords`."""

    @property
    @abc.abstractmethod
    def coord_periodic(self) -> Tuple[bool, ...]:
        """Whether each column of :meth:`intrinsic_coords` is an angle in [0, 2π)."""

    def params(self) -> Dict[str, Any]:
        """The constructor's keyword arguments (JSON-ready numbers)."""
        return {}

    def to_dict(self) -> Dict[str, Any]:
        """``{"kind": name, **constructor args}``, e.g. ``{"kind": "sphere", "dim": 2}``."""
        return {"kind": self.name, **self.params()}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Manifold":
        """Inverse of :meth:`to_dict`. On a subclass the kind must be that subclass's."""
        from vdae_core.foundation.registry import MANIFOLDS

        if not isinstance(d, dict) or "kind" not in d:
            raise UserInputError(f"a latent space must be a dict with a 'kind', got {d!r}")
        kwargs = {k: v for k, v in d.items() if k != "kind"}
        klass = MANIFOLDS.get(d["kind"])
        if cls is not Manifold and not issubclass(klass, cls):
            raise UserInputError(f"a {cls.name!r} latent space cannot be read from kind {d['kind']!r}")
        try:
            return klass(**kwargs)
        except TypeError as e:
            raise UserInputError(f"bad parameters for latent space {d['kind']!r}: {e}") from None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Manifold) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.to_dict().items())))

    # ----------------------------------------------------------------------------------- helpers
    def check_points(self, x: torch.Tensor) -> torch.Tensor:
        """x itself, after checking it is a tensor of shape (n, *shape); raises UserInputError."""
        if not isinstance(x, torch.Tensor):
            raise UserInputError(f"{self.label} points must be a torch tensor, got {type(x).__name__}")
        if tuple(x.shape[1:]) != self.shape or x.dim() != len(self.shape) + 1:
            raise UserInputError(f"{self.label} points must have shape (n, {', '.join(map(str, self.shape))}), "
                                 f"got {tuple(x.shape)}")
        return x

    def _noise(self, n: int, generator: torch.Generator, like: Optional[torch.Tensor] = None,
               dtype: Optional[torch.dtype] = None, device: Any = None) -> torch.Tensor:
        """Standard Gaussian (n, *shape), drawn on the generator's device, then moved to ``like``'s."""
        dtype = like.dtype if like is not None else (dtype or torch.get_default_dtype())
        device = like.device if like is not None else (device or "cpu")
        z = torch.randn((n, *self.shape), generator=generator, dtype=dtype, device=generator.device)
        return z.to(device)

    def _broadcast_rows(self, v: Std, x: torch.Tensor) -> torch.Tensor:
        """A float, (n,) or (n, 1) value as a tensor broadcastable against x (n, *shape)."""
        v = torch.as_tensor(v, dtype=x.dtype, device=x.device)
        if v.dim() == 0:
            return v
        return v.reshape(-1, *([1] * len(self.shape)))

    # ------------------------------------------------------------------------------- the contract
    @abc.abstractmethod
    def projection(self, x: torch.Tensor) -> torch.Tensor:
        """Closest-point projection P from ambient space onto the manifold (ΔVAE §3.2).

        Parameters
        ----------
        x : Tensor (n, *shape)

        Returns
        -------
        Tensor (n, *shape), on the manifold. Differentiable wherever P is smooth (away from the
        medial axis, e.g. the origin for a sphere).
        """

    @abc.abstractmethod
    def belongs(self, x: torch.Tensor, atol: float = 1e-5) -> torch.Tensor:
        """Whether each point lies on the manifold within ``atol``.

        Parameters
        ----------
        x : Tensor (n, *shape)

        Returns
        -------
        Tensor (n,), bool
        """

    def random_uniform(self, n: int, generator: torch.Generator, *, dtype: Optional[torch.dtype] = None,
                       device: Any = None) -> torch.Tensor:
        """n points from the uniform law (normalised Riemannian volume of the induced metric).

        Parameters
        ----------
        n : int
        generator : torch.Generator
            A CPU generator; all randomness is drawn from it.
        dtype, device : optional
            Of the result (default: torch's default dtype, CPU).

        Returns
        -------
        Tensor (n, *shape)

        Raises
        ------
        UserInputError
            For non-compact spaces, which have no uniform law (use :meth:`prior_sample`).
        """
        raise UserInputError(f"{self.label} is not compact: it has no uniform law (use prior_sample)")

    def prior_sample(self, n: int, generator: torch.Generator, *, dtype: Optional[torch.dtype] = None,
                     device: Any = None) -> torch.Tensor:
        """n points from the VAE prior: uniform on compact spaces (ΔVAE §3.3), N(0, I) on R^d.

        Returns
        -------
        Tensor (n, *shape)
        """
        return self.random_uniform(n, generator, dtype=dtype, device=device)

    @abc.abstractmethod
    def geodesic_distance(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Riemannian distance of the induced metric between rows of x and y.

        Parameters
        ----------
        x, y : Tensor (n, *shape)

        Returns
        -------
        Tensor (n,)
        """

    def pairwise_geodesic(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """All distances between rows of x and rows of y.

        Parameters
        ----------
        x : Tensor (n, *shape)
        y : Tensor (k, *shape)

        Returns
        -------
        Tensor (n, k)
        """
        n, k = x.shape[0], y.shape[0]
        xx = x.unsqueeze(1).expand(n, k, *self.shape).reshape(n * k, *self.shape)
        yy = y.unsqueeze(0).expand(n, k, *self.shape).reshape(n * k, *self.shape)
        return self.geodesic_distance(xx, yy).reshape(n, k)

    def chordal_distance(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Euclidean distance in the ambient space, a lower bound of :meth:`geodesic_distance`.

        Parameters
        ----------
        x, y : Tensor (n, *shape)

        Returns
        -------
        Tensor (n,)
        """
        return torch.linalg.vector_norm((x - y).reshape(x.shape[0], -1), dim=1)

    def pairwise_chordal(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """All chordal distances (lower bounds of the geodesic ones). x (n, *shape), y (k, *shape) -> (n, k)."""
        return torch.cdist(x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1))

    def knn_geodesic(self, x: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """The k geodesic nearest neighbours of each row of x among the other rows (exact).

        Geodesic distances are computed only for the chordal-nearest candidates: since chord <= geodesic,
        a row's answer is final once its k-th geodesic distance is at most the chordal distance of its
        nearest left-out point; rows that are not final get twice as many candidates. Far cheaper than
        :meth:`pairwise_geodesic` where distances are expensive (the embedded torus).

        Parameters
        ----------
        x : Tensor (n, *shape)
        k : int
            1 <= k < n.

        Returns
        -------
        dist : Tensor (n, k), ascending
        idx : Tensor (n, k), int64 row indices into x (never the row itself)
        """
        n = x.shape[0]
        if not 1 <= int(k) < n:
            raise UserInputError(f"k must be between 1 and n - 1 = {n - 1}, got {k}")
        k = int(k)
        C = self.pairwise_chordal(x, x)
        C.fill_diagonal_(float("inf"))
        chord, order = torch.sort(C, dim=1, stable=True)
        dist = torch.empty(n, k, dtype=x.dtype, device=x.device)
        idx = torch.empty(n, k, dtype=torch.long, device=x.device)
        rows = torch.arange(n, device=x.device)
        m = min(n - 1, 2 * k + 2)
        while rows.numel():
            cand = order[rows, :m]
            g = self.geodesic_distance(x[rows].repeat_interleave(m, 0), x[cand.reshape(-1)]).reshape(-1, m)
            d, pos = torch.topk(g, k, dim=1, largest=False, sorted=True)
            final = torch.ones_like(rows, dtype=torch.bool) if m == n - 1 else d[:, -1] <= chord[rows, m]
            dist[rows[final]], idx[rows[final]] = d[final], cand.gather(1, pos)[final]
            rows = rows[~final]
            m = min(n - 1, 2 * m)
        return dist, idx

    def gaussian_pushforward_dims(self) -> Tuple[int, ...]:
        """The dimensions k for which :meth:`from_gaussian` is defined: a fixed map R^k -> this space carrying
        N(0, I_k) to its uniform law exactly (none by default)."""
        return ()

    def from_gaussian(self, u: torch.Tensor) -> torch.Tensor:
        """Points of this space, uniform when ``u`` (n, k) is standard normal and k is in
        :meth:`gaussian_pushforward_dims`."""
        raise UserInputError(f"{self.label} has no exact map from a Gaussian to its uniform law")

    @abc.abstractmethod
    def log_volume(self) -> float:
        """log of the Riemannian volume of the induced metric (closed form)."""

    @abc.abstractmethod
    def scalar_curvature(self, x: torch.Tensor) -> torch.Tensor:
        """Scalar curvature Sc at each point (twice the Gaussian curvature on a surface).

        Parameters
        ----------
        x : Tensor (n, *shape)

        Returns
        -------
        Tensor (n,), x's dtype and device.
        """

    def mean_scalar_curvature(self) -> float:
        """Volume average of Sc: the constant on homogeneous spaces (overridden where Sc varies)."""
        x = self.prior_sample(1, torch.Generator().manual_seed(0), dtype=torch.float64)
        return float(self.scalar_curvature(x)[0])

    @abc.abstractmethod
    def intrinsic_coords(self, x):
        """Coordinates for display, one column per entry of :attr:`coord_names`.

        Parameters
        ----------
        x : Tensor or ndarray (n, *shape)

        Returns
        -------
        Tensor or ndarray (n, dim), the type of x. Periodic columns (:attr:`coord_periodic`) are
        angles in [0, 2π).
        """

    # ------------------------------------------------------------------------------ random walk
    def walk_step(self, x: torch.Tensor, std: Std, generator: torch.Generator) -> torch.Tensor:
        """One step of the projected random walk: P(x + std · ε), ε ~ N(0, I) in ambient space.

        Parameters
        ----------
        x : Tensor (n, *shape)
            Points on the manifold.
        std : float or Tensor (n,) or (n, 1)
            Per-coordinate standard deviation of the ambient step.
        generator : torch.Generator
            CPU generator; the noise is drawn on the CPU in x's dtype, then moved to x's device.

        Returns
        -------
        Tensor (n, *shape), differentiable in x and std (the reparametrisation trick).
        """
        eps = self._noise(x.shape[0], generator, like=x)
        return self.projection(x + self._broadcast_rows(std, x) * eps)

    def random_walk(self, x: torch.Tensor, t: Std, n_steps: int, generator: torch.Generator) -> torch.Tensor:
        """Approximate Brownian motion (generator ½Δ) run for time t, by N projected steps (ΔVAE §3.6).

        z_{k+1} = P(z_k + sqrt(t / N) ε_k), k = 0 … N−1, so each ambient coordinate receives variance t
        and the result is approximately distributed as the heat kernel q(t; x, ·).

        Parameters
        ----------
        x : Tensor (n, *shape)
        t : float or Tensor (n,) or (n, 1)
            Diffusion time, > 0.
        n_steps : int
            N >= 1.
        generator : torch.Generator

        Returns
        -------
        Tensor (n, *shape)
        """
        if int(n_steps) < 1:
            raise UserInputError(f"n_steps must be at least 1, got {n_steps}")
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        std = torch.sqrt(t / int(n_steps))
        z = x
        for _ in range(int(n_steps)):
            z = self.walk_step(z, std, generator)
        return z

    # ----------------------------------------------------------------------------- KL divergence
    def heat_kernel_kl(self, t: Std, x: Optional[torch.Tensor] = None, coefficient: str = "parametrix") -> torch.Tensor:
        """Small-time asymptotic KL(Q_t ‖ uniform) of the heat kernel (ΔVAE §3.7).

        KL ≈ −(d/2) log(2πt) − d/2 + log Vol(Z) + c · Sc · t,

        with generator ½Δ (variance t per direction, as :meth:`random_walk`).

        The default, ``coefficient="parametrix"``, is c = 1/4; ``coefficient="paper"`` uses the paper's
        c = (d + 4)/24 (equal for d = 2). The paper derives its c for S² and
        *conjectures* it for every d; it is exact to O(t²) for d = 2 (and irrelevant where Sc = 0: the
        circle, flat tori, R^d). For d ≠ 2 the parametrix expansion gives c = 1/4 for every d
        (``coefficient="parametrix"``): on S³ the exact heat kernel agrees with 1/4 to O(t²) and not with
        the paper's 7/24 (tests/test_manifolds.py). The formula is an asymptotic: the error is O(t²)
        (for S², 0.014 t²: 1.4e-6 at t = 0.01, 1.3e-5 at t = 0.03, 3.6e-5 at t = 0.05), so keep t small
        (t ≲ 0.05 for unit-size spaces, i.e. a spread sqrt(t) well below the injectivity radius); for
        large t the true KL tends to 0 while the formula does not.

        Parameters
        ----------
        t : float or Tensor (n,) or (n, 1)
            Diffusion time, > 0. The result is differentiable in t.
        x : Tensor (n, *shape), optional
            Where Sc varies (embedded torus), the curvature is taken at x; without x, the volume average
            of Sc (0 for the torus, by Gauss–Bonnet).
        coefficient : {"paper", "parametrix"}

        Returns
        -------
        Tensor, t's shape (or (n,) with x).
        """
        if x is not None and isinstance(t, torch.Tensor) and t.dim() == 2 and t.shape[1] == 1:
            t = t.reshape(-1)  # (n, 1) times, one per point
        if coefficient == "paper":
            c = (self.dim + 4) / 24.0
        elif coefficient == "parametrix":
            c = 0.25
        else:
            raise UserInputError(f"coefficient must be 'paper' or 'parametrix', got {coefficient!r}")
        dtype = x.dtype if x is not None else (t.dtype if isinstance(t, torch.Tensor) else torch.float64)
        t = torch.as_tensor(t, dtype=dtype, device=x.device if x is not None else None)
        sc: Any = self.scalar_curvature(self.check_points(x)) if x is not None else self.mean_scalar_curvature()
        d = self.dim
        return -0.5 * d * torch.log(2 * math.pi * t) - 0.5 * d + self.log_volume() + c * sc * t
