"""Exact diffusion maps and SpectralNet against analytic Laplace-Beltrami eigenfunctions."""
import numpy as np
import torch

from vdae_core.api import DataConfig, make_dataset
from vdae_core.geometry.diffusion_maps import canonical_correlations, diffusion_map
from vdae_core.models.spectralnet import SpectralNet, batch_affinity, orthonormalise


def test_exact_dm_circle_is_cos_sin():
    ds = make_dataset(DataConfig(dataset="circle", n=800, seed=0))
    dm = diffusion_map(ds.X, 2, k=20)
    th = ds.params[:, 0]
    cc = canonical_correlations(dm.coords, np.c_[np.cos(th), np.sin(th)])
    assert cc.min() > 0.99  # sampling noise at n=800 costs about 0.005
    # φ_1, φ_2 share one eigenvalue (a degenerate pair), well below the next pair (cos 2θ, sin 2θ)
    dm4 = diffusion_map(ds.X, 4, k=20)
    lam = 1 - dm4.eigenvalues
    assert abs(lam[1] - lam[0]) < 0.2 * lam[0]
    assert lam[2] > 2.5 * lam[1]  # continuum ratio is 4 (k^2 for harmonic k)


def test_exact_dm_sphere_is_xyz():
    ds = make_dataset(DataConfig(dataset="sphere", n=1200, seed=0))
    dm = diffusion_map(ds.X, 3, k=20)
    assert canonical_correlations(dm.coords, ds.X).min() > 0.99


def test_exact_dm_normalisation_and_shape():
    ds = make_dataset(DataConfig(dataset="sphere", n=600, seed=0))
    dm = diffusion_map(ds.X, 5, k=20)
    d = dm.degrees
    G = (dm.coords * d[:, None]).T @ dm.coords / d.sum()
    np.testing.assert_allclose(G, np.eye(5), atol=1e-6)  # D-orthonormal
    np.testing.assert_allclose(d @ dm.coords / d.sum(), 0, atol=1e-6)  # orthogonal to the constant
    assert np.all(np.diff(dm.eigenvalues) <= 1e-12)


def test_canonical_correlation_invariance():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(200, 3))
    M = rng.normal(size=(3, 3))
    np.testing.assert_allclose(canonical_correlations(A, A @ M + 5), 1, atol=1e-10)
    assert canonical_correlations(A, rng.normal(size=(200, 3))).max() < 0.4


def test_orthonormalise_weighted():
    g = torch.Generator().manual_seed(0)
    y = torch.randn(300, 4, generator=g) @ torch.randn(4, 4, generator=g) + 3
    d = torch.rand(300, generator=g) + 0.5
    yo, mean, L = orthonormalise(y, d)
    w = (d / d.sum()).double()
    yo = yo.double()
    torch.testing.assert_close((w[:, None] * yo).sum(0), torch.zeros(4, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(yo.T @ (w[:, None] * yo), torch.eye(4, dtype=torch.float64), atol=1e-3, rtol=0)


def test_orthonormalise_rank_deficient_batch_does_not_crash():
    y = torch.ones(64, 3)  # every row identical: rank 0 after centring
    y[:, 1] = torch.linspace(0, 1, 64)  # rank 1
    yo, _, _ = orthonormalise(y, torch.ones(64))
    assert torch.isfinite(yo).all()


def test_batch_affinity_is_symmetric_knn():
    x = torch.randn(100, 3, generator=torch.Generator().manual_seed(1))
    W = batch_affinity(x, 5)
    torch.testing.assert_close(W, W.T)
    assert (W.diagonal() == 0).all()
    assert ((W > 0).sum(1) >= 5).all()


def _train_spectralnet(ds, D, steps, seed=0):
    torch.manual_seed(seed)
    X = torch.as_tensor(ds.X)
    net = SpectralNet(X.shape[1], D, hidden=(64, 64))
    net.standardise.fit(X)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        loss, _ = net.batch_loss(X[torch.randperm(len(X), generator=g)[:256]], 15)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.finalise(ds.X, 15)
    with torch.no_grad():
        return net, net(X).numpy()


def test_spectralnet_learns_cos_sin_on_circle():
    ds = make_dataset(DataConfig(dataset="circle", n=600, seed=0))
    net, psi = _train_spectralnet(ds, 2, 150)
    th = ds.params[:, 0]
    assert canonical_correlations(psi, np.c_[np.cos(th), np.sin(th)]).min() > 0.98
    # The frozen output map keeps ψ orthonormal on the training set (uniform weights ≈ degrees here).
    G = psi.T @ psi / len(psi)
    np.testing.assert_allclose(G, np.eye(2), atol=0.1)


def test_spectralnet_learns_xyz_on_sphere():
    ds = make_dataset(DataConfig(dataset="sphere", n=800, seed=0))
    net, psi = _train_spectralnet(ds, 3, 150)
    assert canonical_correlations(psi, ds.X).min() > 0.97
    lam = net.eigenvalues.numpy()
    assert np.all(np.diff(lam) >= 0)  # ordered by Laplacian eigenvalue
