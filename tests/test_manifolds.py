"""Contract tests for the latent spaces (vdae_core.geometry.manifolds).

Every registered manifold (default instance) and a few extra instances go through the same tests, so a
newly registered manifold is tested without new code; the laws and closed forms it must match are
tables keyed by its ``kind``. Then checks of single spaces: constants verified numerically (SO(3) and
the embedded torus), the torus's numerical geodesics against a graph search, and the ΔVAE's asymptotic
KL (§3.7) against exact heat kernels.

Statistical checks use fixed seeds: a KS p-value threshold of 1e-3, means within 4 standard errors.
"""
import json
import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import roots_legendre

from vdae_core.foundation.errors import UserInputError
from vdae_core.geometry.manifolds import MANIFOLDS, Manifold, manifold_from_dict
from vdae_core.geometry.manifolds.so3 import special_polar

F64 = torch.float64
EXTRA = [("sphere", {"dim": 1}), ("sphere", {"dim": 3}), ("projective", {"dim": 3}), ("euclidean", {"dim": 3})]


def _case(name, kw):
    label = name + "".join(f"-{k}{v}" for k, v in kw.items())
    return pytest.param(MANIFOLDS.get(name)(**kw), id=label)


ALL = [_case(n, {}) for n in MANIFOLDS.names()] + [_case(n, kw) for n, kw in EXTRA]
COMPACT = [c for c in ALL if c.values[0].is_compact]


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def points(m, n, seed=0, dtype=F64):
    return m.prior_sample(n, gen(seed), dtype=dtype)


# ------------------------------------------------------------------------------------ closed forms
def closed_log_volume(m):
    d = m.dim
    sphere = {1: 2 * math.pi, 2: 4 * math.pi, 3: 2 * math.pi ** 2}
    table = {
        "sphere": lambda: math.log(sphere[d]),
        "projective": lambda: math.log(sphere[d] / 2),
        "flat_torus": lambda: math.log(4 * math.pi ** 2),
        "torus": lambda: math.log(4 * math.pi ** 2 * m.R * m.r),
        "so3": lambda: math.log(16 * math.sqrt(2) * math.pi ** 2),
    }
    return table[m.name]()


CONSTANT_CURVATURE = {"sphere": lambda m: m.dim * (m.dim - 1), "projective": lambda m: m.dim * (m.dim - 1),
                      "flat_torus": lambda m: 0.0, "euclidean": lambda m: 0.0, "so3": lambda m: 0.75}


def sphere_marginal_cdf(d):
    """CDF of one coordinate u of a uniform point of S^d.

    Its density is ∝ (1 − u²)^{(d−2)/2}, i.e. (u + 1)/2 ~ Beta(d/2, d/2).
    """
    return lambda u: stats.beta.cdf((np.asarray(u) + 1) / 2, d / 2, d / 2)


def uniform_angle_cdf(a):
    return (np.asarray(a) + np.pi) / (2 * np.pi)


def ks(sample, cdf):
    return stats.kstest(np.asarray(sample), cdf).pvalue


def law_sphere(m, x):
    assert ks(x[:, 0], sphere_marginal_cdf(m.dim)) > 1e-3
    # Rotation invariance: the mean is 0 within 4 standard errors in every coordinate.
    se = x.std(0) / np.sqrt(len(x))
    assert np.all(np.abs(x.mean(0)) < 4 * se)


def law_projective(m, x):
    F = sphere_marginal_cdf(m.dim)
    assert ks(np.abs(x[:, 0]), lambda u: 2 * F(u) - 1) > 1e-3
    # Invariance of the law of the line: E[x xᵀ] = I/(d+1) within 4 standard errors per entry.
    outer = x[:, :, None] * x[:, None, :]
    se = outer.std(0) / np.sqrt(len(x))
    assert np.all(np.abs(outer.mean(0) - np.eye(m.dim + 1) / (m.dim + 1)) < 4 * se)


def law_flat_torus(m, x):
    assert ks(np.arctan2(x[:, 1], x[:, 0]), uniform_angle_cdf) > 1e-3
    assert ks(np.arctan2(x[:, 3], x[:, 2]), uniform_angle_cdf) > 1e-3
    # Independence of the two angles: the correlation of cos θ and cos φ is 0 within 4 standard errors.
    assert abs(np.corrcoef(x[:, 0], x[:, 2])[0, 1]) < 4 / np.sqrt(len(x))


def law_torus(m, x):
    a = m.r / m.R
    theta = np.arctan2(x[:, 1], x[:, 0])
    phi = np.arctan2(x[:, 2], np.hypot(x[:, 0], x[:, 1]) - m.R)
    assert ks(theta, uniform_angle_cdf) > 1e-3
    # Area element r (R + r cos φ) dθ dφ: φ has density (1 + (r/R) cos φ)/2π on [−π, π).
    assert ks(phi, lambda p: (p + np.pi + a * np.sin(p)) / (2 * np.pi)) > 1e-3
    # ... which a uniform φ would fail (the test has the power to see the difference).
    assert ks(phi, uniform_angle_cdf) < 1e-3


def law_so3(m, x):
    theta = np.arccos(np.clip((np.trace(x, axis1=1, axis2=2) - 1) / 2, -1, 1))
    # Haar measure: the rotation angle has density (1 − cos θ)/π on [0, π].
    assert ks(theta, lambda t: (t - np.sin(t)) / np.pi) > 1e-3
    se = x.std(0) / np.sqrt(len(x))
    assert np.all(np.abs(x.mean(0)) < 4 * se)  # E[R] = 0 under Haar measure


UNIFORM_LAWS = {"sphere": law_sphere, "projective": law_projective, "flat_torus": law_flat_torus,
                "torus": law_torus, "so3": law_so3}


# --------------------------------------------------------------------------------- generic contract
@pytest.mark.parametrize("m", ALL)
def test_description_and_json_round_trip(m):
    d = json.loads(json.dumps(m.to_dict()))
    assert d["kind"] == m.name and MANIFOLDS.get(m.name) is type(m)
    back = manifold_from_dict(d)
    assert back == m and back.to_dict() == m.to_dict() and Manifold.from_dict(d) == m
    assert type(m).__name__ in repr(m) and m.label
    assert m.ambient_dim == int(np.prod(m.shape))
    assert len(m.coord_names) == len(m.coord_periodic) == m.dim
    with pytest.raises(UserInputError):
        manifold_from_dict({"kind": "klein_bottle"})
    other = "torus" if m.name != "torus" else "sphere"
    with pytest.raises(UserInputError):
        type(m).from_dict({"kind": other})
    with pytest.raises(UserInputError):
        m.projection(torch.zeros(4, m.ambient_dim + 1, dtype=F64))


@pytest.mark.parametrize("m", ALL)
def test_projection_is_the_closest_point_and_idempotent(m):
    g = gen(1)
    on = points(m, 300, seed=1)
    x = on + 0.1 * torch.randn(on.shape, generator=g, dtype=F64)
    p = m.projection(x)
    assert m.belongs(p).all()
    assert (m.projection(p) - p).abs().max() < 1e-10
    gap = torch.linalg.vector_norm((x - p).reshape(len(x), -1), dim=1)
    if m.is_compact:
        # No point of a dense sample of the manifold is closer to x than P(x).
        sample = m.random_uniform(4000, gen(2), dtype=F64).reshape(4000, -1)
        assert torch.all(gap <= torch.cdist(x.reshape(len(x), -1), sample).min(1).values + 1e-12)
    # Nor any point near P(x) on the manifold (local optimality, at a scale the sample cannot resolve).
    for _ in range(5):
        near = m.walk_step(p, 0.01, g)
        assert torch.all(torch.linalg.vector_norm((x - near).reshape(len(x), -1), dim=1) >= gap - 1e-12)
    # float32 in, float32 out, on the manifold at float32 precision.
    p32 = m.projection(x.float())
    assert p32.dtype == torch.float32 and m.belongs(p32, atol=1e-5).all()


@pytest.mark.parametrize("m", ALL)
def test_belongs_rejects_points_off_the_manifold(m):
    on = points(m, 500, seed=3)
    off = on + 0.05 * torch.randn(on.shape, generator=gen(4), dtype=F64)
    assert m.belongs(on).all()
    if m.name == "euclidean":
        assert not m.belongs(torch.full((1, m.dim), float("nan"), dtype=F64)).any()
    else:
        assert m.belongs(off).double().mean() < 0.01


@pytest.mark.parametrize("m", ALL)
def test_random_uniform_follows_the_volume_law(m):
    if not m.is_compact:
        with pytest.raises(UserInputError):
            m.random_uniform(10, gen())
        z = m.prior_sample(20000, gen(5), dtype=F64).numpy()
        assert ks(z[:, 0], stats.norm.cdf) > 1e-3
        assert np.abs(np.cov(z.T) - np.eye(m.dim)).max() < 4 * np.sqrt(2 / len(z))
        return
    assert m.name in UNIFORM_LAWS, f"state the uniform law of {m.name!r} in UNIFORM_LAWS"
    x = m.random_uniform(20000, gen(5), dtype=F64)
    assert x.shape == (20000, *m.shape) and m.belongs(x).all()
    UNIFORM_LAWS[m.name](m, x.numpy())
    # prior_sample is the uniform law; the same generator state gives the same points.
    assert torch.equal(m.prior_sample(50, gen(6), dtype=F64), m.random_uniform(50, gen(6), dtype=F64))
    assert m.random_uniform(5, gen(6)).dtype == torch.float32


@pytest.mark.parametrize("m", COMPACT)
def test_uniform_law_is_invariant_under_the_walk(m):
    """Brownian motion preserves the Riemannian volume: walking uniform points leaves them uniform.

    A check that needs no stated law: two-sample KS of an ambient coordinate and of the chordal distance
    to a fixed point, walked sample against a fresh one (KS threshold 1e-3).
    """
    x = m.random_uniform(10000, gen(7), dtype=F64)
    z = m.random_walk(x, 0.3, 20, gen(8))
    y = m.random_uniform(10000, gen(9), dtype=F64)
    ref = y[:1].expand_as(y)
    for a, b in [(z.reshape(len(z), -1)[:, 0], y.reshape(len(y), -1)[:, 0]),
                 (m.chordal_distance(z, ref[: len(z)]), m.chordal_distance(y, ref))]:
        assert stats.ks_2samp(a.numpy(), b.numpy()).pvalue > 1e-3


@pytest.mark.parametrize("m", ALL)
def test_geodesic_distance_is_a_metric_above_the_chord(m):
    n = 200
    a, b, c = points(m, n, 10), points(m, n, 11), points(m, n, 12)
    assert m.geodesic_distance(a, a).abs().max() <= 1e-6
    # One batch for the three sides and 40 reversed pairs (the torus solves them together).
    x, y = torch.cat([a, b, a, b[:40]]), torch.cat([b, c, c, a[:40]])
    d = m.geodesic_distance(x, y)
    dab, dbc, dac = d[:n], d[n:2 * n], d[2 * n:3 * n]
    assert torch.all(dac <= dab + dbc + 1e-6)
    assert (d[3 * n:] - dab[:40]).abs().max() <= 1e-6
    assert torch.all(d >= m.chordal_distance(x, y) - 1e-9)
    pw = m.pairwise_geodesic(a[:4], c[:5])
    assert pw.shape == (4, 5)
    assert (pw.diagonal() - dac[:4]).abs().max() <= 1e-6


@pytest.mark.parametrize("m", ALL)
def test_knn_geodesic_is_exact(m):
    n = 16 if m.name == "torus" else 60  # the torus's brute force is n² numerical geodesics
    x = points(m, n, 25)
    dist, idx = m.knn_geodesic(x, 4)
    G = m.pairwise_geodesic(x, x)
    G.fill_diagonal_(float("inf"))
    assert torch.allclose(dist, torch.sort(G, dim=1).values[:, :4], atol=1e-9)
    assert torch.allclose(G.gather(1, idx), dist, atol=1e-9)
    assert torch.all(m.pairwise_chordal(x, x) <= G + 1e-9)


@pytest.mark.parametrize("m", ALL)
def test_geodesic_distance_agrees_with_the_chord_to_first_order(m):
    x = points(m, 100, 13)
    v = torch.randn(x.shape, generator=gen(14), dtype=F64)
    errors = []
    for eps in (1e-1, 1e-2, 1e-3):
        y = m.projection(x + eps * v)
        ratio = m.geodesic_distance(x, y) / m.chordal_distance(x, y)
        assert torch.all(ratio >= 1 - 1e-7)
        errors.append(float((ratio - 1).abs().max()))
    # d / chord = 1 + O(κ² d²): the error falls about 100-fold per decade of distance.
    assert errors[2] < 1e-5
    assert errors[1] <= max(errors[0] / 30, 1e-7) and errors[2] <= max(errors[1] / 30, 1e-7)


@pytest.mark.parametrize("m", ALL)
def test_log_volume_is_the_closed_form(m):
    if not m.is_compact:
        with pytest.raises(UserInputError):
            m.log_volume()
        return
    assert m.log_volume() == pytest.approx(closed_log_volume(m), abs=1e-12)


@pytest.mark.parametrize("m", ALL)
def test_scalar_curvature(m):
    x = points(m, 2000, 15)
    sc = m.scalar_curvature(x)
    assert sc.shape == (2000,) and sc.dtype == F64 and m.scalar_curvature(x.float()).dtype == torch.float32
    if m.name in CONSTANT_CURVATURE:
        assert torch.all(sc == CONSTANT_CURVATURE[m.name](m))
        assert m.mean_scalar_curvature() == CONSTANT_CURVATURE[m.name](m)
        return
    assert m.name == "torus", f"state the scalar curvature of {m.name!r}"
    R, r = m.R, m.r
    outer = torch.tensor([[R + r, 0.0, 0.0], [0.0, -(R + r), 0.0]], dtype=F64)
    inner = torch.tensor([[R - r, 0.0, 0.0]], dtype=F64)
    assert torch.allclose(m.scalar_curvature(outer), torch.tensor(2 / (r * (R + r)), dtype=F64))
    assert torch.allclose(m.scalar_curvature(inner), torch.tensor(-2 / (r * (R - r)), dtype=F64))
    # Gauss–Bonnet: ∫ K dA = 2π χ = 0, so Sc averages to 0 over area-uniform points (4 standard errors).
    sc = m.scalar_curvature(m.random_uniform(20000, gen(16), dtype=F64))
    assert abs(float(sc.mean())) < 4 * float(sc.std()) / math.sqrt(len(sc))
    assert m.mean_scalar_curvature() == 0.0


@pytest.mark.parametrize("m", ALL)
def test_walk_spreads_like_brownian_motion(m):
    """E d(x, W_t)² ≈ d·t for small t (generator ½Δ), within 5 %, with 20000 walkers and 10 steps."""
    x = points(m, 20000, 17)
    rms = []
    ts = (1e-3, 4e-3, 1.6e-2)
    for i, t in enumerate(ts):
        z = m.random_walk(x, t, 10, gen(18 + i))
        assert m.belongs(z).all()
        msd = float((m.geodesic_distance(x, z) ** 2).mean())
        assert msd == pytest.approx(m.dim * t, rel=0.05)
        rms.append(math.sqrt(msd))
    slope = np.polyfit(np.log(ts), np.log(rms), 1)[0]
    assert abs(slope - 0.5) < 0.05


@pytest.mark.parametrize("m", ALL)
def test_walk_noise_dtype_and_gradients(m):
    x = points(m, 64, 19)
    # The same generator seed gives the same walk; a (n,) time equals the same scalar time.
    a = m.random_walk(x, 0.01, 3, gen(20))
    b = m.random_walk(x, torch.full((64,), 0.01, dtype=F64), 3, gen(20))
    assert torch.equal(a, b)
    assert not torch.equal(a, m.random_walk(x, 0.01, 3, gen(21)))
    assert m.random_walk(x.float(), 0.01, 3, gen(20)).dtype == torch.float32
    # Reparametrisation: the walk is differentiable in its start and in t.
    x = x.clone().requires_grad_(True)
    t = torch.full((64,), 0.01, dtype=F64, requires_grad=True)
    z = m.random_walk(x, t, 3, gen(20))
    (z.reshape(64, -1) @ torch.arange(1.0, m.ambient_dim + 1, dtype=F64)).sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0


def _from_coords(m, c):
    """The test's own inverse of intrinsic_coords, per kind (None where there is none here)."""
    c = torch.as_tensor(c, dtype=F64)
    if m.name == "sphere":  # hyperspherical angles, polar angles measured from the last axis first
        d = m.dim
        x = torch.empty(len(c), d + 1, dtype=F64)
        s = torch.ones(len(c), dtype=F64)
        for k in range(d - 1):
            x[:, d - k] = s * torch.cos(c[:, k])
            s = s * torch.sin(c[:, k])
        x[:, 0], x[:, 1] = s * torch.cos(c[:, -1]), s * torch.sin(c[:, -1])
        return x
    if m.name == "flat_torus":
        return torch.stack([c[:, 0].cos(), c[:, 0].sin(), c[:, 1].cos(), c[:, 1].sin()], 1)
    if m.name == "torus":
        th, ph = c[:, 0], c[:, 1]
        rho = m.R + m.r * ph.cos()
        return torch.stack([rho * th.cos(), rho * th.sin(), m.r * ph.sin()], 1)
    if m.name == "so3":
        return torch.linalg.matrix_exp(_hat(c))
    if m.name == "projective":  # ball model: u -> (u, sqrt(1 − |u|²)), the upper-hemisphere point
        return torch.cat([c, (1 - (c * c).sum(1, keepdim=True)).clamp_min(0).sqrt()], 1)
    if m.name == "euclidean":
        return c
    return None


def _hat(w):
    z = torch.zeros_like(w[:, 0])
    return torch.stack([z, -w[:, 2], w[:, 1], w[:, 2], z, -w[:, 0], -w[:, 1], w[:, 0], z], 1).reshape(-1, 3, 3)


@pytest.mark.parametrize("m", ALL)
def test_intrinsic_coords_invert_the_parametrisation(m):
    x = points(m, 500, 22)
    c = m.intrinsic_coords(x)
    assert c.shape == (500, m.dim)
    cn = m.intrinsic_coords(x.numpy())
    assert isinstance(cn, np.ndarray) and np.allclose(cn, c.numpy(), atol=1e-12)
    for j, periodic in enumerate(m.coord_periodic):
        if periodic:
            assert float(c[:, j].min()) >= 0 and float(c[:, j].max()) < 2 * math.pi
    back = _from_coords(m, c)
    assert back is not None, f"add the parametrisation of {m.name!r} to _from_coords"
    target = m.canonical(x) if m.name == "projective" else x
    assert (back - target).abs().max() < 1e-9


@pytest.mark.parametrize("m", ALL)
def test_heat_kernel_kl_is_the_asymptotic_formula_and_differentiable_in_t(m):
    t = torch.tensor([0.01, 0.03], dtype=F64, requires_grad=True)
    if not m.is_compact:
        x = points(m, 2, 23)
        with pytest.raises(UserInputError):
            m.heat_kernel_kl(t)
        kl = m.heat_kernel_kl(t, x)
        d = m.dim
        expected = 0.5 * (d * t + (x * x).sum(1) - d - d * torch.log(t))
        assert torch.allclose(kl, expected)
        return
    kl = m.heat_kernel_kl(t)
    d, sc = m.dim, m.mean_scalar_curvature()
    c = 0.25  # the default (parametrix) curvature coefficient; the paper's (d + 4)/24 with coefficient="paper"
    expected = -d / 2 * torch.log(2 * math.pi * t) - d / 2 + closed_log_volume(m) + c * sc * t
    assert torch.allclose(kl, expected, atol=1e-12)
    paper = m.heat_kernel_kl(t.detach(), coefficient="paper")
    assert torch.allclose(paper, expected.detach() + ((d + 4) / 24 - c) * sc * t.detach(), atol=1e-12)
    kl.sum().backward()
    assert torch.allclose(t.grad, -d / (2 * t.detach()) + c * sc)
    # At given points (the torus's curvature varies): (n,) values, with Sc taken at each point.
    x = points(m, 2, 24)
    kx = m.heat_kernel_kl(t.detach(), x)
    assert torch.allclose(kx, kl.detach() + c * (m.scalar_curvature(x) - sc) * t.detach())
    assert torch.equal(m.heat_kernel_kl(t.detach().reshape(2, 1), x), kx)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("m", ALL)
def test_a_cuda_run_sees_the_cpu_noise(m):
    x = points(m, 100, 60)
    a = m.random_walk(x, 0.01, 3, gen(61))
    b = m.random_walk(x.cuda(), 0.01, 3, gen(61))
    assert b.device.type == "cuda" and torch.allclose(a, b.cpu(), atol=1e-10)
    u = m.prior_sample(100, gen(62), dtype=F64, device="cuda")
    assert u.device.type == "cuda" and torch.allclose(u.cpu(), m.prior_sample(100, gen(62), dtype=F64), atol=1e-12)
    assert torch.allclose(m.geodesic_distance(u, b).cpu(), m.geodesic_distance(u.cpu(), a), atol=1e-8)


# ------------------------------------------------------------------------------------------ SO(3)
SO3 = MANIFOLDS.get("so3")()


def _rodrigues(w):
    """exp(ŵ) by Rodrigues' formula (smooth for |w| > 0, forward-mode friendly). w (n, 3) -> (n, 3, 3)."""
    th = torch.linalg.vector_norm(w, dim=1).view(-1, 1, 1)
    K = _hat(w)
    return torch.eye(3, dtype=w.dtype) + torch.sin(th) / th * K + (1 - torch.cos(th)) / th ** 2 * (K @ K)


def _jacobian(f, c, create_graph=False):
    """Per-row Jacobians of a row-wise map f: (n, k) -> (n, m), by reverse-mode autograd -> (n, m, k)."""
    c = c.detach().requires_grad_(True)
    out = f(c)
    rows = [torch.autograd.grad(out[:, i].sum(), c, retain_graph=True, create_graph=create_graph)[0]
            for i in range(out.shape[1])]
    return torch.stack(rows, 1), c


def _frobenius_volume_element(w):
    """sqrt(det JᵀJ) of ω -> exp(ω̂) ∈ R⁹, J (9 x 3) by autograd. w (n, 3) -> (n,)."""
    J, _ = _jacobian(lambda v: _rodrigues(v).reshape(-1, 9), w)
    return torch.sqrt(torch.linalg.det(J.transpose(1, 2) @ J))


def test_so3_volume_by_monte_carlo_in_exponential_coordinates():
    """Vol = ∫_{|ω|<π} sqrt(det JᵀJ) dω, estimated with 20000 uniform points of the ball (4 standard errors).

    Catches the √2 (metric) and factor-2 (double cover) mistakes: 16√2π² = 223.3, against 8π² = 79.0 for
    the standard metric and 2·16√2π² for SU(2) = S³.
    """
    g = gen(30)
    n = 20000
    u = torch.randn(n, 3, generator=g, dtype=F64)
    u /= torch.linalg.vector_norm(u, dim=1, keepdim=True)
    w = u * math.pi * torch.rand(n, 1, generator=g, dtype=F64) ** (1 / 3)
    f = _frobenius_volume_element(w) * (4 / 3 * math.pi ** 4)
    est, se = float(f.mean()), float(f.std()) / math.sqrt(n)
    assert abs(est - math.exp(SO3.log_volume())) < 4 * se
    assert 4 * se < 0.01 * est


def test_so3_scalar_curvature_from_the_volume_of_small_geodesic_balls():
    """In normal coordinates √det g = 1 − Sc ρ²/(6d) + O(ρ⁴) on average over directions; SO(3) is
    isotropic, so one direction will do. Normal coordinates at I are √2·ω (|√2 ω| = geodesic radius ρ)."""
    w = torch.randn(8, 3, generator=gen(31), dtype=F64)
    w = 0.02 * w / torch.linalg.vector_norm(w, dim=1, keepdim=True)
    rho2 = 2 * 0.02 ** 2
    density = _frobenius_volume_element(w) / 2 ** 1.5
    sc = 6 * 3 * (1 - density) / rho2
    assert torch.allclose(sc, torch.tensor(float(SO3.scalar_curvature(_rodrigues(w))[0]), dtype=F64), rtol=1e-3)


def test_so3_geodesic_distance_is_the_length_of_one_parameter_paths():
    g = gen(32)
    R0 = SO3.random_uniform(20, g, dtype=F64)
    w = torch.randn(20, 3, generator=g, dtype=F64)
    angle = torch.linspace(0.05, 3.1, 20, dtype=F64)
    w = w / torch.linalg.vector_norm(w, dim=1, keepdim=True) * angle.unsqueeze(1)
    s = torch.linspace(0, 1, 4001, dtype=F64)
    path = R0.unsqueeze(1) @ torch.linalg.matrix_exp(_hat((s.view(1, -1, 1) * w.unsqueeze(1)).reshape(-1, 3))).reshape(
        20, -1, 3, 3)
    # Polyline length in R⁹; its deficit is O(h²) of the (constant-speed) path's length.
    length = torch.linalg.vector_norm((path[:, 1:] - path[:, :-1]).reshape(20, -1, 9), dim=2).sum(1)
    d = SO3.geodesic_distance(R0, path[:, -1])
    assert torch.allclose(d, length, rtol=1e-6)
    assert torch.allclose(d, math.sqrt(2) * angle, rtol=1e-12)


def test_so3_projection_and_walk_give_rotations_and_the_projection_gradient_is_right():
    g = gen(33)
    M = torch.randn(500, 3, 3, generator=g, dtype=F64)  # about half have det < 0
    assert (torch.linalg.det(M) < 0).sum() > 100
    for dtype in (F64, torch.float32):
        R = SO3.projection(M.to(dtype))
        eye = torch.eye(3, dtype=dtype)
        assert (R.transpose(1, 2) @ R - eye).abs().max() < 1e-5
        assert (torch.linalg.det(R) - 1).abs().max() < 1e-5
        Z = SO3.random_walk(SO3.random_uniform(500, g, dtype=dtype), 0.05, 10, g)
        assert (Z.transpose(1, 2) @ Z - eye).abs().max() < 1e-5 and (torch.linalg.det(Z) - 1).abs().max() < 1e-5
    # The custom backward (polar decomposition) against finite differences, near SO(3) and with det < 0.
    near = SO3.random_uniform(2, g, dtype=F64) + 0.1 * torch.randn(2, 3, 3, generator=g, dtype=F64)
    assert torch.autograd.gradcheck(special_polar, (near.requires_grad_(True),))
    assert torch.autograd.gradcheck(special_polar, (M[torch.linalg.det(M) < 0][:2].clone().requires_grad_(True),))


# ----------------------------------------------------------------------------------- embedded torus
TORUS = MANIFOLDS.get("torus")()


def _torus_embedding(c, R=TORUS.R, r=TORUS.r):
    th, ph = c[..., 0], c[..., 1]
    rho = R + r * torch.cos(ph)
    return torch.stack([rho * torch.cos(th), rho * torch.sin(th), r * torch.sin(ph)], -1)


def test_torus_volume_and_curvature_from_the_parametrisation():
    """Area = ∫ |X_θ × X_φ| dθ dφ by Monte Carlo (derivatives by autograd, 20000 points, 4 standard
    errors); Gaussian curvature (LN − M²)/(EG − F²) from autograd second derivatives at 50 points."""
    c = torch.rand(20000, 2, generator=gen(40), dtype=F64) * 2 * math.pi
    J, _ = _jacobian(_torus_embedding, c)  # (n, 3, 2)
    area = torch.linalg.vector_norm(torch.linalg.cross(J[..., 0], J[..., 1]), dim=1) * 4 * math.pi ** 2
    est, se = float(area.mean()), float(area.std()) / math.sqrt(len(c))
    assert abs(est - math.exp(TORUS.log_volume())) < 4 * se and 4 * se < 0.01 * est

    J, leaf = _jacobian(_torus_embedding, c[:50], create_graph=True)
    # H[n, k, i, j] = ∂²X_k/∂c_i∂c_j, differentiating each first derivative again.
    H = torch.stack([torch.stack([torch.autograd.grad(J[:, k, i].sum(), leaf, retain_graph=True)[0]
                                  for i in range(2)], 1) for k in range(3)], 1)
    J = J.detach()
    normal = torch.linalg.cross(J[..., 0], J[..., 1])
    normal = normal / torch.linalg.vector_norm(normal, dim=1, keepdim=True)
    first = J.transpose(1, 2) @ J
    second = torch.einsum("nk,nkij->nij", normal, H)
    K = torch.linalg.det(second) / torch.linalg.det(first)
    assert torch.allclose(TORUS.scalar_curvature(_torus_embedding(c[:50])), 2 * K, atol=1e-10)


def test_torus_geodesics_against_a_graph_search():
    """Shortest paths on a 240 x 80 angle grid with a 16-neighbourhood (edge length: the metric at the
    edge's midpoint) are within a few % above the true distance; a geodesic of the wrong family (e.g.
    along the outer equator instead of over the tube) would exceed them. Two cases have closed forms."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra

    R, r = TORUS.R, TORUS.r
    nt, nph = 240, 80
    I, J = np.meshgrid(np.arange(nt), np.arange(nph), indexing="ij")
    rows, cols, w = [], [], []
    for a, b in [(1, 0), (0, 1), (1, 1), (1, -1), (1, 2), (2, 1), (1, -2), (2, -1)]:
        dth, dph = a * 2 * np.pi / nt, b * 2 * np.pi / nph
        mid = J * 2 * np.pi / nph + dph / 2
        rows.append((I * nph + J).ravel())
        cols.append((((I + a) % nt) * nph + (J + b) % nph).ravel())
        w.append(np.hypot((R + r * np.cos(mid)) * dth, r * dph).ravel())
    G = sp.csr_matrix((np.concatenate(w), (np.concatenate(rows), np.concatenate(cols))), shape=(nt * nph,) * 2)
    # (i, j) grid indices of the pairs: random ones, then the outer equator at Δθ = 0.9π (the shortest
    # path leaves the equator), the inner equator at Δθ = π (length π (R − r)), top to bottom, and a
    # short outer-equator arc (Δθ = 6 grid steps = π/20, length (R + r) π/20).
    rng = np.random.default_rng(41)
    src = [tuple(v) for v in rng.integers(0, [nt, nph], (6, 2))] + [(0, 0), (0, 40), (0, 20), (0, 0)]
    dst = [tuple(v) for v in rng.integers(0, [nt, nph], (6, 2))] + [(108, 0), (120, 40), (0, 60), (6, 0)]
    D = dijkstra(G, directed=False, indices=[i * nph + j for i, j in src])
    graph = np.array([D[k, i * nph + j] for k, (i, j) in enumerate(dst)])

    def embed(ij):
        c = torch.tensor([[i * 2 * math.pi / nt, j * 2 * math.pi / nph] for i, j in ij], dtype=F64)
        return _torus_embedding(c)

    d = TORUS.geodesic_distance(embed(src), embed(dst)).numpy()
    assert np.all(d <= graph * (1 + 1e-4)) and np.all(d >= 0.95 * graph)
    assert d[6] < 0.99 * (R + r) * 0.9 * math.pi  # not the outer equator
    assert d[7] == pytest.approx(math.pi * (R - r), rel=1e-9)
    assert d[9] == pytest.approx((R + r) * math.pi / 20, rel=1e-9)


# ------------------------------------------------------------------------------ projective space
@pytest.mark.parametrize("dim", [2, 3])
def test_projective_space_identifies_antipodes(dim):
    m = MANIFOLDS.get("projective")(dim=dim)
    x, y = points(m, 300, 50), points(m, 300, 51)
    assert m.geodesic_distance(x, -x).abs().max() <= 1e-7
    assert torch.allclose(m.geodesic_distance(x, y), m.geodesic_distance(-x, y), atol=1e-12)
    assert m.geodesic_distance(x, y).max() <= math.pi / 2 + 1e-12
    assert torch.allclose(m.geodesic_distance(x, y), torch.arccos((x * y).sum(1).abs().clamp(max=1)), atol=1e-7)
    c = m.canonical(x)
    assert torch.all(c[:, -1] >= 0) and torch.equal(c, m.canonical(-x))
    assert torch.equal(m.intrinsic_coords(x), m.intrinsic_coords(-x))


# ---------------------------------------------------------------------- heat-kernel KL (ΔVAE §3.7)
def _panels(a, b, panels=400, k=20):
    x, w = roots_legendre(k)
    edges = np.linspace(a, b, panels + 1)
    mid, half = (edges[:-1] + edges[1:]) / 2, (edges[1:] - edges[:-1]) / 2
    return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * w).ravel()


def _entropy_term(q, weights):
    qc = np.clip(q, 1e-300, None)
    return float(np.sum(weights * qc * np.log(qc))), float(np.sum(weights * q))


@pytest.mark.parametrize("t, tol", [(0.01, 1e-6), (0.05, 1e-4)])
def test_heat_kernel_kl_on_the_circle_is_the_wrapped_normal(t, tol):
    """On S¹ (Sc = 0) the heat kernel is the wrapped normal; KL = ∫ q log q + log 2π exactly equals
    −½ log(2πt) − ½ + log 2π up to terms of order exp(−π²/2t) (observed: ~1e-14)."""
    theta, w = _panels(-math.pi, math.pi)
    q = sum(np.exp(-(theta + 2 * math.pi * k) ** 2 / (2 * t)) for k in range(-3, 4)) / math.sqrt(2 * math.pi * t)
    ent, mass = _entropy_term(q, w)
    assert mass == pytest.approx(1, abs=1e-12)
    circle = MANIFOLDS.get("sphere")(dim=1)
    assert abs(float(circle.heat_kernel_kl(t)) - (ent + math.log(2 * math.pi))) < tol


def _s2_kernel(t, r, L=400):
    """q(t; r) = Σ_l (2l+1)/(4π) e^{−l(l+1)t/2} P_l(cos r), Legendre polynomials by recurrence."""
    u = np.cos(r)
    p_prev, p = np.ones_like(u), u
    q = (1 + 3 * np.exp(-t) * u) / (4 * math.pi)
    for l in range(1, L):
        p_prev, p = p, ((2 * l + 1) * u * p - l * p_prev) / (l + 1)
        q += (2 * l + 3) / (4 * math.pi) * math.exp(-(l + 1) * (l + 2) * t / 2) * p
    return q


# Observed |error| of the asymptotic formula on S²: 1.40e-6 at t = 0.01 and 1.27e-5 at t = 0.03,
# i.e. 0.014 t²; the bound is 0.035 t² (2.5x). Without the curvature term: 5.0e-3 and 1.5e-2.
@pytest.mark.parametrize("t", [0.01, 0.03])
def test_heat_kernel_kl_on_s2_against_the_legendre_series(t):
    r, w = _panels(0, math.pi)
    ent, mass = _entropy_term(_s2_kernel(t, r), 2 * math.pi * np.sin(r) * w)
    assert mass == pytest.approx(1, abs=1e-10)
    exact = ent + math.log(4 * math.pi)
    s2 = MANIFOLDS.get("sphere")(dim=2)
    err = abs(float(s2.heat_kernel_kl(t)) - exact)
    assert err < 0.035 * t ** 2
    flat = -math.log(2 * math.pi * t) - 1 + math.log(4 * math.pi)  # the formula without (d+4)/24 Sc t
    assert abs(flat - exact) > 100 * err


# On S³ (Sc = 6) the curvature coefficient of the paper's conjecture, (d+4)/24 = 7/24, is off: the exact
# kernel gives 1/4 (observed error with 1/4: −8.4e-6 at t = 0.01, −7.6e-5 at t = 0.03, i.e. −0.084 t²;
# with 7/24: −2.5e-3 and −7.6e-3). ``coefficient="parametrix"`` uses 1/4.
@pytest.mark.parametrize("t", [0.01, 0.03])
def test_heat_kernel_kl_on_s3_has_curvature_coefficient_one_quarter(t):
    r, w = _panels(0, math.pi)
    a = r[:, None] + 2 * math.pi * np.arange(-3, 4)[None, :]
    q = (2 * math.pi * t) ** -1.5 * math.exp(t / 2) * (a * np.exp(-a ** 2 / (2 * t))).sum(1) / np.sin(r)
    ent, mass = _entropy_term(q, 4 * math.pi * np.sin(r) ** 2 * w)
    assert mass == pytest.approx(1, abs=1e-10)
    exact = ent + math.log(2 * math.pi ** 2)
    s3 = MANIFOLDS.get("sphere")(dim=3)
    err = abs(float(s3.heat_kernel_kl(t, coefficient="parametrix")) - exact)
    assert err < 0.2 * t ** 2
    assert abs(float(s3.heat_kernel_kl(t, coefficient="paper")) - exact) > 20 * err  # the paper's 7/24


def test_flat_torus_per_circle_times_walk_and_kl():
    """Times (t₁, t₂): each circle's angle spreads with variance tᵢ; the KL is the sum of the circles' and
    equals the isotropic one when t₁ = t₂."""
    import math

    from vdae_core.geometry.manifolds import MANIFOLDS

    T = MANIFOLDS.get("flat_torus")()
    n = 20_000
    x = T.projection(torch.tensor([[1.0, 0.0, 1.0, 0.0]], dtype=torch.float64).repeat(n, 1))
    t = torch.tensor([[0.01, 0.04]], dtype=torch.float64).repeat(n, 1)
    z = T.random_walk(x, t, 20, torch.Generator().manual_seed(0))
    ang = T.intrinsic_coords(z)
    ang = torch.remainder(ang + math.pi, 2 * math.pi) - math.pi
    var = ang.var(0)
    # Sample variance of n normals: relative sd sqrt(2/n) = 1%; the projected walk's bias is O(t): allow 5%.
    assert abs(var[0] / 0.01 - 1) < 0.05 and abs(var[1] / 0.04 - 1) < 0.05
    iso = T.heat_kernel_kl(torch.full((3,), 0.02, dtype=torch.float64))
    per = T.heat_kernel_kl(torch.full((3, 2), 0.02, dtype=torch.float64))
    torch.testing.assert_close(per, iso)
    two = T.heat_kernel_kl(torch.tensor([[0.01, 0.04]], dtype=torch.float64))
    circle = lambda s: -0.5 * math.log(2 * math.pi * s) - 0.5 + math.log(2 * math.pi)  # noqa: E731
    assert float(two) == pytest.approx(circle(0.01) + circle(0.04), rel=1e-12)
