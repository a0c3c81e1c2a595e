"""Numerically robust von Mises–Fisher (vMF) distribution for the hyperspherical VAE (S-VAE).

The vMF density on the unit sphere S^{p-1} ⊂ R^p with mean direction μ (‖μ‖ = 1) and concentration κ > 0 is

    q(z | μ, κ) = C_p(κ) exp(κ μᵀz),
    log C_p(κ) = v log κ − (p/2) log 2π − log I_v(κ),    v = p/2 − 1,

with respect to the surface measure of S^{p-1}, whose total mass is Vol(S^{p-1}) = 2 π^{p/2} / Γ(p/2).
Everything that involves the modified Bessel function I_v is evaluated in float64 on the CPU (via
``scipy.special.ive``, with series / uniform-asymptotic fallbacks where ``ive`` underflows) and cast back
to the caller's dtype and device, so float32 GPU models get float64-accurate values and gradients.

Public API
----------
``log_bessel_iv(v, kappa)``
    log I_v(κ), differentiable in κ.
``bessel_ratio(v, kappa)``
    A_v(κ) = I_{v+1}(κ) / I_v(κ), differentiable in κ; finite and in (0, 1) for κ ∈ [1e-3, 1e5], v ≥ −1/2.
``uniform_sphere(n, p, generator)``
    Uniform samples on S^{p-1} (normalised Gaussians).
``VonMisesFisher(loc, scale)``
    The distribution: ``mean_resultant_length``, ``mean``, ``log_prob``, ``entropy``, ``kl_to_uniform``,
    ``rsample`` (Wood's rejection sampler, reparameterised as in Davidson et al. 2018).

References
----------
Wood, A. T. A. (1994). Simulation of the von Mises Fisher distribution. Comm. Stat. Sim. Comp. 23(1).
Davidson, T. R. et al. (2018). Hyperspherical Variational Auto-Encoders. UAI.
Naesseth, C. A. et al. (2017). Reparameterization gradients through acceptance-rejection sampling. AISTATS.
Amos, D. E. (1974). Computation of modified Bessel functions and their ratios. Math. Comp. 28.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from scipy import special

__all__ = ["log_bessel_iv", "bessel_ratio", "uniform_sphere", "VonMisesFisher"]

# ``ive`` values below this are subnormal (or about to be) and lose relative precision: use the fallbacks.
_IVE_MIN = 1e-290
# The power series of I_v(κ)/((κ/2)^v/Γ(v+1)) is summed with this many terms where (κ/2)² ≤ 25 (v+1).
_SERIES_TERMS = 150
_SERIES_MAX_Q = 25.0
# Rounds of the rejection sampler before giving up (the acceptance rate of Wood's sampler is > 0.5 for
# every κ and p, so 1000 rounds leave a probability below 2^-1000 per entry).
_MAX_ROUNDS = 1000

Shape = Union[int, Sequence[int], torch.Size]


def _check_order(v: float) -> float:
    v = float(v)
    if not math.isfinite(v) or v < -0.5:
        raise ValueError(f"Bessel order v must be a finite number >= -1/2 (v = p/2 - 1 with p >= 1), got {v}")
    return v


# --------------------------------------------------------------------------------------------------------
# float64 NumPy kernels
# --------------------------------------------------------------------------------------------------------

def _log_series_sum(v: float, k: np.ndarray, start: int = 0) -> np.ndarray:
    """log Σ_{j ≥ start} t_j with t_j = (κ²/4)^j / (j! (v+1)_j), the series of I_v(κ) Γ(v+1) / (κ/2)^v.

    Parameters
    ----------
    v : float
        Order, v > −1.
    k : ndarray, shape (m,)
        κ > 0, float64, with (κ/2)² ≤ 25 (v + 1) so that ``_SERIES_TERMS`` terms converge to full precision.
    start : int
        First term summed (0 gives the whole series, 1 its tail Σ_{j≥1} = I_v Γ(v+1) (κ/2)^{-v} − 1).

    Returns
    -------
    ndarray, shape (m,)
    """
    j = np.arange(1, _SERIES_TERMS, dtype=np.float64)                        # (J,)
    logq = 2.0 * np.log(k / 2.0)                                             # (m,)
    # log t_j = Σ_{i=1..j} [log q − log i − log(v + i)], a cumulative sum: no lgamma cancellation.
    steps = logq[:, None] - np.log(j)[None, :] - np.log(v + j)[None, :]     # (m, J-1)
    logt = np.concatenate([np.zeros((k.shape[0], 1)), np.cumsum(steps, axis=1)], axis=1)[:, start:]
    top = logt.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(logt - top).sum(axis=1, keepdims=True)))[:, 0]


def _log_iv_series(v: float, k: np.ndarray) -> np.ndarray:
    """log I_v(κ) = v log(κ/2) − lgamma(v+1) + log Σ_j t_j, for (κ/2)² ≤ 25 (v+1). Shapes (m,) -> (m,)."""
    return v * np.log(k / 2.0) - special.gammaln(v + 1.0) + _log_series_sum(v, k)


def _log_iv_debye(v: float, k: np.ndarray) -> np.ndarray:
    """Debye's uniform asymptotic expansion of log I_v(v z), z = κ/v (DLMF 10.41.3), three correction terms.

    Only used for large orders (v ≳ 700 when ``ive`` underflows outside the series' range), where the
    relative error of the truncated expansion is O(v^-4). Shapes (m,) -> (m,).
    """
    z = k / v
    s = np.sqrt(1.0 + z * z)
    t = 1.0 / s
    eta = s + np.log(z / (1.0 + s))
    t2 = t * t
    u1 = t * (3.0 - 5.0 * t2) / 24.0
    u2 = t2 * (81.0 - 462.0 * t2 + 385.0 * t2 * t2) / 1152.0
    u3 = t * t2 * (30375.0 - 369603.0 * t2 + 765765.0 * t2 * t2 - 425425.0 * t2 ** 3) / 414720.0
    corr = np.log1p(u1 / v + u2 / v ** 2 + u3 / v ** 3)
    return v * eta - 0.5 * np.log(2.0 * np.pi * v) - 0.5 * np.log(s) + corr


def _log_iv_fallback(v: float, k: np.ndarray) -> np.ndarray:
    """log I_v(κ) where ``ive`` underflows: power series, or Debye's expansion beyond the series' range."""
    out = np.empty_like(k)
    use_series = (k / 2.0) ** 2 <= _SERIES_MAX_Q * (v + 1.0)
    if use_series.any():
        out[use_series] = _log_iv_series(v, k[use_series])
    if (~use_series).any():
        out[~use_series] = _log_iv_debye(v, k[~use_series])
    return out


def _ive(v: float, k: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """scipy's ive and a mask of the entries where it is a normal, finite, positive number."""
    with np.errstate(all="ignore"):
        e = special.ive(v, k)
    return e, np.isfinite(e) & (e > _IVE_MIN)


def _log_iv_np(v: float, k: np.ndarray) -> np.ndarray:
    """log I_v(κ) in float64; κ > 0. Shape (m,) -> (m,)."""
    e, ok = _ive(v, k)
    out = np.empty_like(k)
    with np.errstate(all="ignore"):
        out[ok] = np.log(e[ok]) + k[ok]
    if (~ok).any():
        out[~ok] = _log_iv_fallback(v, k[~ok])
    return out


def _ratio_np(v: float, k: np.ndarray) -> np.ndarray:
    """A_v(κ) = I_{v+1}(κ)/I_v(κ) in float64, clipped into (0, 1). Shape (m,) -> (m,)."""
    e0, ok0 = _ive(v, k)
    e1, ok1 = _ive(v + 1.0, k)
    ok = ok0 & ok1
    out = np.empty_like(k)
    out[ok] = e1[ok] / e0[ok]
    bad = ~ok
    if bad.any():
        # Both orders in log space (series for small κ: this is where the κ/(2(v+1)) regime lives).
        with np.errstate(all="ignore"):
            out[bad] = np.exp(_log_iv_fallback(v + 1.0, k[bad]) - _log_iv_fallback(v, k[bad]))
    bad = ~(np.isfinite(out) & (out > 0.0) & (out <= 1.0))      # == 1 is rounding (A = 1 − O(1/κ) > 1 − 1e-16)
    if bad.any():
        # Last resort (never reached on the documented range): the mean of Amos' (1974) bounds
        # κ/(v+1+sqrt(κ²+(v+1)²)) ≤ A_v(κ) ≤ κ/(v+1/2+sqrt(κ²+(v+3/2)²)); exact as κ → 0 and to O(1/κ) as κ → ∞.
        kb = k[bad]
        lo = kb / (v + 1.0 + np.sqrt(kb * kb + (v + 1.0) ** 2))
        hi = kb / (v + 0.5 + np.sqrt(kb * kb + (v + 1.5) ** 2))
        out[bad] = 0.5 * (lo + hi)
    return np.clip(out, np.finfo(np.float64).tiny, np.nextafter(1.0, 0.0))


def _ratio_deriv_asymptotic(v: float, k: np.ndarray, terms: int = 10) -> np.ndarray:
    """Large-κ expansion of A_v'(κ), from Hankel's I_v(κ) ~ e^κ (2πκ)^{-1/2} Σ_j c_j κ^{-j} (DLMF 10.40.1).

    With log Σ_j c_j x^j = Σ_j l_j x^j (x = 1/κ), log I_v = κ − ½ log 2πκ + Σ_j l_j κ^{-j} and
    A' = (log I_v)'' + v/κ² = (v + ½)/κ² + Σ_{j≥1} j (j+1) l_j κ^{-j-2}
       = (v + ½)/κ² − (4v²−1)/(4κ³) − 3(4v²−1)/(8κ⁴) + ...
    Accurate to ~1e-13 relative for κ ≥ max(50, (v+1)²) with 10 terms. Shape (m,) -> (m,).
    """
    mu = 4.0 * v * v
    c = [1.0]
    for j in range(1, terms + 1):
        c.append(-c[-1] * (mu - (2 * j - 1) ** 2) / (8.0 * j))
    lc = [0.0] * (terms + 1)                        # coefficients of the log of the series
    for j in range(1, terms + 1):
        lc[j] = c[j] - sum(i * lc[i] * c[j - i] for i in range(1, j)) / j
    x = 1.0 / k
    out = np.zeros_like(k)
    for j in range(terms, 0, -1):                   # Horner in x, smallest terms first
        out = (out + j * (j + 1) * lc[j]) * x
    return x * x * (v + 0.5 + out)


def _ratio_deriv_np(v: float, k: np.ndarray, a: np.ndarray) -> np.ndarray:
    """dA_v/dκ = 1 − A² − (2v+1) A / κ in float64, ≥ 0. Shapes (m,) -> (m,).

    For large κ the closed form cancels (A → 1, A' ~ (v+½)/κ²; relative error ~1e-6 at κ = 1e5), so for
    κ ≥ max(50, (v+1)²) the large-κ expansion is used instead (relative error ≲ 1e-13; the closed form
    is ≲ 1e-9 below that switch for v ≤ 200). For v = −½, A = tanh κ and A' = sech² κ exactly.
    """
    if v == -0.5:
        return 1.0 / np.cosh(np.minimum(k, 350.0)) ** 2
    d = 1.0 - a * a - (2.0 * v + 1.0) * a / k
    big = k >= max(50.0, (v + 1.0) ** 2)
    if big.any():
        d[big] = _ratio_deriv_asymptotic(v, k[big])
    return np.maximum(d, 0.0)


def _log_series_tail_np(v: float, k: np.ndarray) -> np.ndarray:
    """log1p(Σ_{j≥1} t_j) = log I_v(κ) − v log(κ/2) + lgamma(v+1), accurate as κ → 0. Shape (m,) -> (m,)."""
    tail = np.exp(_log_series_sum(v, k, start=1))
    return np.log1p(tail)


# Below this κ the small-κ (series) forms of log C_p and the KL are used: no cancellation of v log κ terms.
_SMALL_KAPPA = 1.0


def _log_norm_np(v: float, p: int, k: np.ndarray) -> np.ndarray:
    """log C_p(κ) = v log κ − (p/2) log 2π − log I_v(κ) in float64. Shape (m,) -> (m,)."""
    small = k <= _SMALL_KAPPA
    out = np.empty_like(k)
    ks = k[small]
    out[small] = v * math.log(2.0) + special.gammaln(v + 1.0) - _log_series_tail_np(v, ks)
    kl = k[~small]
    out[~small] = v * np.log(kl) - _log_iv_np(v, kl)
    return out - 0.5 * p * math.log(2.0 * math.pi)


def _log_sphere_volume(p: int) -> float:
    """log Vol(S^{p-1}) = log 2 + (p/2) log π − lgamma(p/2)."""
    return math.log(2.0) + 0.5 * p * math.log(math.pi) - math.lgamma(0.5 * p)


def _kl_uniform_np(v: float, p: int, k: np.ndarray) -> np.ndarray:
    """KL(vMF(μ, κ) ‖ U(S^{p-1})) = κ A + log C_p(κ) + log Vol(S^{p-1}) in float64, ≥ 0. Shape (m,) -> (m,).

    For κ ≤ 1 the constants cancel analytically and KL = κ A − log1p(Σ_{j≥1} t_j), which keeps full
    relative precision as κ → 0 (KL ≈ κ²/(2p)).
    """
    a = _ratio_np(v, k)
    small = k <= _SMALL_KAPPA
    out = np.empty_like(k)
    ks = k[small]
    out[small] = ks * a[small] - _log_series_tail_np(v, ks)
    kl = k[~small]
    out[~small] = kl * a[~small] + _log_norm_np(v, p, kl) + _log_sphere_volume(p)
    return np.maximum(out, 0.0)


# --------------------------------------------------------------------------------------------------------
# autograd Functions
# --------------------------------------------------------------------------------------------------------

def _to_np(x: torch.Tensor) -> np.ndarray:
    return x.detach().to("cpu", torch.float64).reshape(-1).numpy()


def _from_np(a: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).reshape(like.shape).to(like.device, like.dtype)


class _LogBesselIv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, kappa: torch.Tensor, v: float) -> torch.Tensor:
        ctx.save_for_backward(kappa)
        ctx.v = v
        return _from_np(_log_iv_np(v, _to_np(kappa)), kappa)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (kappa,) = ctx.saved_tensors
        # d/dκ log I_v = I_v'/I_v = A_v + v/κ (from I_v' = I_{v+1} + (v/κ) I_v); twice differentiable.
        return grad * (bessel_ratio(ctx.v, kappa) + ctx.v / kappa), None


class _BesselRatio(torch.autograd.Function):
    @staticmethod
    def forward(ctx, kappa: torch.Tensor, v: float) -> torch.Tensor:
        k = _to_np(kappa)
        a = _ratio_np(v, k)
        ctx.save_for_backward(kappa)
        ctx.v = v
        ctx.np = (k, a)
        return _from_np(a, kappa)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        (kappa,) = ctx.saved_tensors
        k, a = ctx.np
        return grad * _from_np(_ratio_deriv_np(ctx.v, k, a), kappa), None


class _LogNormaliser(torch.autograd.Function):
    @staticmethod
    def forward(ctx, kappa: torch.Tensor, v: float, p: int) -> torch.Tensor:
        ctx.save_for_backward(kappa)
        ctx.v = v
        return _from_np(_log_norm_np(v, p, _to_np(kappa)), kappa)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (kappa,) = ctx.saved_tensors
        # d/dκ [v log κ − log I_v(κ)] = v/κ − (A + v/κ) = −A, without the cancelling v/κ terms.
        return -grad * bessel_ratio(ctx.v, kappa), None, None


class _KLUniform(torch.autograd.Function):
    @staticmethod
    def forward(ctx, kappa: torch.Tensor, v: float, p: int) -> torch.Tensor:
        k = _to_np(kappa)
        ctx.save_for_backward(kappa)
        ctx.v = v
        ctx.k = k
        return _from_np(_kl_uniform_np(v, p, k), kappa)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        (kappa,) = ctx.saved_tensors
        k = ctx.k
        # d/dκ [κA + v log κ − log I_v(κ)] = A + κA' + v/κ − A − v/κ = κ A'(κ) ≥ 0.
        d = k * _ratio_deriv_np(ctx.v, k, _ratio_np(ctx.v, k))
        return grad * _from_np(d, kappa), None, None


def log_bessel_iv(v: float, kappa: torch.Tensor) -> torch.Tensor:
    """log I_v(κ), the log of the modified Bessel function of the first kind, differentiable in κ.

    Forward: ``log(scipy.special.ive(v, κ)) + κ`` in float64 on the CPU; where ``ive`` underflows (large
    order, small κ) the log-space power series v log(κ/2) − lgamma(v+1) + log Σ_j (κ²/4)^j / (j! (v+1)_j)
    (and, for orders ≳ 700 far outside the series' range, Debye's uniform expansion). Backward:
    d/dκ log I_v(κ) = A_v(κ) + v/κ with A_v = ``bessel_ratio``.

    Parameters
    ----------
    v : float
        Order, v ≥ −1/2 (v = p/2 − 1 for the sphere S^{p-1} ⊂ R^p). A python number, not differentiated.
    kappa : Tensor, shape (...)
        Arguments κ > 0, any float dtype and device.

    Returns
    -------
    Tensor, shape (...)
        log I_v(κ), on kappa's device and in its dtype.
    """
    v = _check_order(v)
    if not torch.is_tensor(kappa):
        kappa = torch.as_tensor(kappa, dtype=torch.float64)
    return _LogBesselIv.apply(kappa, v)


def bessel_ratio(v: float, kappa: torch.Tensor) -> torch.Tensor:
    """A_v(κ) = I_{v+1}(κ) / I_v(κ), differentiable in κ, finite and in (0, 1).

    Evaluated in float64 as ive(v+1, κ)/ive(v, κ) where both are normal numbers, else from the log-space
    series of both Bessel functions (the small-κ regime, A ≈ κ/(2(v+1))), with the mean of Amos' bounds as
    a last resort. For huge κ ``ive`` stays normal and A → 1 − (2v+1)/(2κ). Backward:
    A' = 1 − A² − (2v+1) A/κ in float64 (a large-κ expansion where that cancels).

    Parameters
    ----------
    v : float
        Order, v ≥ −1/2. For the vMF on S^{p-1}, v = p/2 − 1 and A_v(κ) = E[μᵀz] is the mean resultant length.
    kappa : Tensor, shape (...)
        κ > 0, any float dtype and device.

    Returns
    -------
    Tensor, shape (...)
        A_v(κ), on kappa's device and in its dtype (in float32 it rounds to 1 for κ ≳ 1e7).
    """
    v = _check_order(v)
    if not torch.is_tensor(kappa):
        kappa = torch.as_tensor(kappa, dtype=torch.float64)
    return _BesselRatio.apply(kappa, v)


# --------------------------------------------------------------------------------------------------------
# sampling helpers (all randomness drawn on the CPU from a torch.Generator)
# --------------------------------------------------------------------------------------------------------

def _check_generator(generator: Optional[torch.Generator]) -> torch.Generator:
    if generator is None:
        return torch.default_generator
    if generator.device.type != "cpu":
        raise ValueError("pass a CPU torch.Generator: draws are made on the CPU (identical on every device) "
                         f"and moved to the parameters' device; got a generator on {generator.device}")
    return generator


def uniform_sphere(n: int, p: int, generator: Optional[torch.Generator] = None, *,
                   dtype: torch.dtype = torch.float64,
                   device: Optional[Union[str, torch.device]] = None) -> torch.Tensor:
    """Uniform samples on the unit sphere S^{p-1} ⊂ R^p (normalised standard Gaussians).

    Parameters
    ----------
    n : int
        Number of samples.
    p : int
        Ambient dimension, p ≥ 1 (p = 1 gives ±1).
    generator : torch.Generator, optional
        CPU generator; the draws are made on the CPU in float64 and then moved, so they are identical on
        every device. ``None`` uses torch's default CPU generator.
    dtype, device
        Of the returned tensor.

    Returns
    -------
    Tensor, shape (n, p)
        Unit vectors.
    """
    g = _check_generator(generator)
    x = torch.randn((int(n), int(p)), generator=g, dtype=torch.float64)
    x = x / x.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(torch.float64).tiny)
    return x.to(device=device if device is not None else "cpu", dtype=dtype)


def _gamma_half_integer(m: int, n: int, g: torch.Generator) -> np.ndarray:
    """Gamma(m/2, 1) draws for an integer m ≥ 1, exactly: a sum of ⌊m/2⌋ Exp(1) plus Z²/2 if m is odd.

    The uniforms/normals come from ``g`` (``torch.distributions.Gamma`` cannot take a generator); the
    arithmetic is NumPy float64 (single-threaded: cheap, and immune to OpenMP contention on busy CPUs).
    Returns shape (n,).
    """
    out = np.zeros(n)
    if m // 2:
        u = torch.rand((n, m // 2), generator=g, dtype=torch.float64).numpy()    # [0, 1)
        out -= np.log1p(-u).sum(axis=1)
    if m % 2:
        z = torch.randn(n, generator=g, dtype=torch.float64).numpy()
        out += 0.5 * z * z
    return out


def _beta_symmetric(m: int, n: int, g: torch.Generator) -> np.ndarray:
    """Beta(m/2, m/2) draws as X/(X+Y), X, Y ~ Gamma(m/2); m = 1 is the arcsine law Beta(½, ½). Shape (n,)."""
    x = _gamma_half_integer(m, n, g)
    y = _gamma_half_integer(m, n, g)
    s = x + y
    with np.errstate(all="ignore"):
        return np.where(s > 0, x / s, 0.5)          # s = 0 has probability ~0 (all draws exactly 0)


def _wood_b(kappa: torch.Tensor, m: int) -> torch.Tensor:
    """b = (−2κ + sqrt(4κ² + m²))/m in the cancellation-free form m/(2κ + sqrt(4κ² + m²)), m = p − 1."""
    return m / (2.0 * kappa + torch.sqrt(4.0 * kappa * kappa + m * m))


def _wood_eps(kappa: np.ndarray, m: int, g: torch.Generator) -> np.ndarray:
    """Accepted Beta variates ε of Wood's (1994) rejection sampler, vectorised.

    Parameters
    ----------
    kappa : ndarray, shape (N,)
        Concentrations κ > 0, float64.
    m : int
        p − 1 ≥ 1.
    g : torch.Generator
        CPU generator supplying every draw.

    Returns
    -------
    ndarray, shape (N,)
        ε ∈ [0, 1] such that w = (1 − (1+b)ε)/(1 − (1−b)ε) has the vMF law of μᵀz.
    """
    n = kappa.shape[0]
    sq = np.sqrt(4.0 * kappa * kappa + m * m)
    b = m / (2.0 * kappa + sq)
    a = (m + 2.0 * kappa + sq) / 4.0
    d = 4.0 * a * b / (1.0 + b) - m * math.log(m)          # log(p−1) = 0 on the circle (m = 1)
    eps = np.empty(n)
    todo = np.arange(n)
    rounds = 0
    while todo.size:
        if rounds == _MAX_ROUNDS:
            raise RuntimeError(f"von Mises–Fisher rejection sampler: {todo.size} of {n} draws still rejected "
                               f"after {_MAX_ROUNDS} rounds (κ = {kappa[todo[:5]].tolist()}..., p = {m + 1}); "
                               "this should never happen for finite κ > 0")
        rounds += 1
        k = todo.size
        e = _beta_symmetric(m, k, g)
        u = torch.rand(k, generator=g, dtype=torch.float64).numpy()
        bt, at, dt = b[todo], a[todo], d[todo]
        t = 2.0 * at * bt / (1.0 - (1.0 - bt) * e)
        with np.errstate(divide="ignore"):
            accept = (m * np.log(t) - t + dt) >= np.log(u)       # log 0 = −inf: accepted
        eps[todo[accept]] = e[accept]
        todo = todo[~accept]
    return eps


def _householder_from_e1(z: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """Apply an orthogonal map R with R e1 = μ to z, stably for every μ (including μ ≈ ±e1).

    R = −σ H_u with u = e1 + σ μ, σ = sign(μ_1) (+1 at 0), H_u = I − 2uuᵀ/uᵀu. Then ‖u‖² = 2 + 2|μ_1| ≥ 2,
    so nothing divides by a small number (the textbook u = e1 − μ degenerates as μ → e1). Any orthogonal R
    with R e1 = μ is valid: the tangent part of the sample is rotation-invariant about e1.

    Parameters
    ----------
    z : Tensor, shape (..., p)
    mu : Tensor, shape broadcastable to (..., p)
        Unit vectors.

    Returns
    -------
    Tensor, shape (..., p)
    """
    sigma = torch.where(mu[..., :1] >= 0, torch.ones_like(mu[..., :1]), -torch.ones_like(mu[..., :1]))
    u = torch.cat([mu[..., :1] * sigma + 1.0, mu[..., 1:] * sigma], dim=-1)
    coef = 2.0 * (u * z).sum(-1, keepdim=True) / (u * u).sum(-1, keepdim=True)
    return -sigma * (z - coef * u)


def _as_shape(sample_shape: Shape) -> Tuple[int, ...]:
    if isinstance(sample_shape, int):
        return (sample_shape,)
    return tuple(int(s) for s in sample_shape)


# --------------------------------------------------------------------------------------------------------
# the distribution
# --------------------------------------------------------------------------------------------------------

class VonMisesFisher:
    """von Mises–Fisher distribution vMF(μ, κ) on S^{p-1} ⊂ R^p, p ≥ 2.

    Parameters
    ----------
    loc : Tensor, shape (n, p)
        Mean directions μ, unit vectors (any leading batch shape works: (..., p)).
    scale : Tensor, shape (n, 1)
        Concentrations κ > 0 (broadcastable against ``loc[..., :1]``).
    validate_args : bool
        Check shapes, p ≥ 2, finiteness, κ > 0 and ‖μ‖ ≈ 1 (1e-3 in float32, 1e-6 in float64).

    Notes
    -----
    v = p/2 − 1 is the Bessel order; A = A_v(κ) = I_{p/2}(κ)/I_{p/2−1}(κ) = E[μᵀz].
    The Bessel-function parts are evaluated in float64 on the CPU and returned in ``scale``'s dtype/device.
    """

    def __init__(self, loc: torch.Tensor, scale: torch.Tensor, validate_args: bool = True):
        if loc.dim() < 1 or loc.shape[-1] < 2:
            raise ValueError(f"loc must have shape (..., p) with p >= 2, got {tuple(loc.shape)}")
        scale = torch.as_tensor(scale, dtype=loc.dtype, device=loc.device)
        if scale.dim() == 0:
            scale = scale.reshape(1)
        try:
            batch = torch.broadcast_shapes(loc.shape[:-1] + (1,), scale.shape)
        except RuntimeError as err:
            raise ValueError(f"scale {tuple(scale.shape)} does not broadcast against loc {tuple(loc.shape)}: "
                             "use shape (n, 1) for loc of shape (n, p)") from err
        if batch[-1] != 1:
            raise ValueError(f"scale must have a trailing dimension of size 1, got {tuple(scale.shape)}")
        self.p = int(loc.shape[-1])
        self.v = self.p / 2.0 - 1.0
        self.loc = loc.expand(batch[:-1] + (self.p,))
        self.scale = scale.expand(batch)
        if validate_args:
            with torch.no_grad():
                if not bool(torch.isfinite(loc).all()) or not bool(torch.isfinite(scale).all()):
                    raise ValueError("loc and scale must be finite")
                if not bool((scale > 0).all()):
                    raise ValueError("scale (the concentration κ) must be > 0")
                tol = 1e-6 if loc.dtype == torch.float64 else 1e-3
                if not bool(((loc.norm(dim=-1) - 1.0).abs() <= tol).all()):
                    raise ValueError("loc must hold unit vectors (normalise the encoder's output)")

    @property
    def batch_shape(self) -> torch.Size:
        return self.loc.shape[:-1]

    def mean_resultant_length(self) -> torch.Tensor:
        """A_{p/2}(κ) = I_{p/2}(κ)/I_{p/2−1}(κ) = E[μᵀz] ∈ (0, 1).

        Returns
        -------
        Tensor, shape (n, 1)
            Differentiable in κ.
        """
        return bessel_ratio(self.v, self.scale)

    @property
    def mean(self) -> torch.Tensor:
        """E[z] = A μ. Shape (n, p)."""
        return self.mean_resultant_length() * self.loc

    def log_normaliser(self) -> torch.Tensor:
        """log C_p(κ) = (p/2 − 1) log κ − (p/2) log 2π − log I_{p/2−1}(κ). Shape (n,). d/dκ = −A."""
        return _LogNormaliser.apply(self.scale, self.v, self.p)[..., 0]

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log density w.r.t. the surface measure of S^{p-1}: log C_p(κ) + κ μᵀx.

        Parameters
        ----------
        x : Tensor, shape (..., n, p)
            Points on the sphere (sample dimensions in front, as returned by ``rsample``).

        Returns
        -------
        Tensor, shape (..., n)
        """
        return self.log_normaliser() + self.scale[..., 0] * (self.loc * x).sum(-1)

    def kl_to_uniform(self) -> torch.Tensor:
        """KL(vMF(μ, κ) ‖ U(S^{p-1})) = κA + log C_p(κ) + log Vol(S^{p-1}), exact and ≥ 0.

        Evaluated in float64 (with the κ ≤ 1 series form that keeps relative precision as κ → 0, where
        KL ≈ κ²/(2p)); gradient dKL/dκ = κ A'(κ) in float64.

        Returns
        -------
        Tensor, shape (n,)
        """
        return _KLUniform.apply(self.scale, self.v, self.p)[..., 0]

    def entropy(self) -> torch.Tensor:
        """Differential entropy −κA − log C_p(κ) = log Vol(S^{p-1}) − KL(q ‖ U). Shape (n,)."""
        return _log_sphere_volume(self.p) - self.kl_to_uniform()

    def rsample(self, sample_shape: Shape = (), generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Reparameterised samples (Wood 1994 rejection sampler + Householder reflection).

        1. For each draw, Wood's sampler accepts ε ~ Beta((p−1)/2, (p−1)/2) such that
           w = h(ε, κ) = (1 − (1+b)ε)/(1 − (1−b)ε), b = (p−1)/(2κ + sqrt(4κ² + (p−1)²)), has the law of μᵀz
           (density ∝ e^{κw}(1−w²)^{(p−3)/2}). This loop runs in float64 on the CPU on the detached κ, is
           vectorised (only rejected entries are redrawn) and bounded (RuntimeError after 1000 rounds).
        2. z' = (w, sqrt(1−w²) t) with t uniform on S^{p-2} (the tangent sphere orthogonal to e1), where
           1 − w = 2bε/(1 − (1−b)ε) is computed directly, so sqrt((1−w)(1+w)) neither cancels nor goes NaN
           at large κ (κ = 1e5: 1 − w = O(1e-5)).
        3. z = R z' with an orthogonal R, R e1 = μ (a stable Householder reflection).

        Gradients (Davidson et al. 2018): the accepted ε is treated as a constant and w = h(ε, κ) carries the
        gradient to κ — the paper's g_rep. The correction term g_cor = E[f(z) ∂_κ log π(ε | κ)] (π: the law
        of the *accepted* ε, which depends on κ) is dropped, as in the paper's own implementation. This is
        acceptable because (i) the gradient w.r.t. μ is unaffected (the acceptance step does not depend on
        μ), (ii) the KL term's κ-gradient is analytic and exact (``kl_to_uniform``), only the reconstruction
        term's κ-gradient is biased, and (iii) that bias shrinks like O(1/κ) and with p (posteriors in a
        trained S-VAE are usually concentrated), and in the cases checked it only scales the gradient down,
        never flips its sign. It is not negligible at small κ, though: for f(z) = μᵀz and p = 3, g_rep
        = 0.802·dA/dκ at κ = 1, 0.896·dA/dκ at κ = 10, 0.990·dA/dκ at κ = 100 (p = 2, κ = 1: 0.56; p = 10,
        κ = 1: 0.99) — computed by quadrature; the p = 3 values are checked in tests/test_vmf.py.

        Parameters
        ----------
        sample_shape : int or sequence of int
            Leading sample dimensions S (``()`` gives one draw per distribution).
        generator : torch.Generator, optional
            CPU generator supplying all randomness (so CPU and GPU draws are identical for the same seed);
            ``None`` uses torch's default CPU generator.

        Returns
        -------
        Tensor, shape (*S, n, p)
            Unit vectors, in ``loc``'s dtype and on its device, differentiable w.r.t. ``loc`` and ``scale``.
        """
        g = _check_generator(generator)
        shape = _as_shape(sample_shape) + tuple(self.batch_shape)
        m = self.p - 1
        total = int(np.prod(shape)) if shape else 1
        kappa = self.scale[..., 0].expand(shape)                                     # (*S, n)
        eps = _wood_eps(_to_np(kappa), m, g)                                         # (N,) float64
        tangent = uniform_sphere(total, m, g)                                        # (N, p−1), float64 CPU
        dev, dt = self.loc.device, self.loc.dtype
        eps = torch.from_numpy(eps).to(dev, dt).reshape(shape)
        tangent = tangent.to(dev, dt).reshape(shape + (m,))
        b = _wood_b(kappa, m)
        one_minus_w = (2.0 * b * eps / (1.0 - (1.0 - b) * eps)).clamp(0.0, 2.0)
        w = 1.0 - one_minus_w
        radial = torch.sqrt((one_minus_w * (2.0 - one_minus_w)).clamp_min(torch.finfo(dt).tiny))
        z = torch.cat([w[..., None], radial[..., None] * tangent], dim=-1)
        return _householder_from_e1(z, self.loc)

    def sample(self, sample_shape: Shape = (), generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``rsample`` without gradients. Shape (*S, n, p)."""
        with torch.no_grad():
            return self.rsample(sample_shape, generator)

    def __repr__(self) -> str:
        return f"VonMisesFisher(p={self.p}, batch_shape={tuple(self.batch_shape)})"
