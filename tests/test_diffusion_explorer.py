"""The Data page's diffusion-map explorer: ψ_t = μ^t φ, transition rows of P = D⁻¹W, the spectrum figure."""
import numpy as np
import pytest

from vdae_core.geometry.diffusion_maps import diffusion_coordinates, diffusion_map, transition_matrix, transition_row
from vdae_core.study.analysis import exact_diffusion, exact_transition
from vdae_core.viz.scatter import diffusion_pair_figure, diffusion_spectrum_figure, transition_row_figure


def cloud(n=40, m=3, seed=0):
    return np.random.default_rng(seed).normal(size=(n, m))


def dense_P(X, k):
    """P = D⁻¹W built by hand: Gaussian weights on each point's k nearest others, σ the median k-th neighbour
    distance, W symmetrised as (W + Wᵀ)/2."""
    n = len(X)
    dist = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    nbrs = np.argsort(dist, axis=1)[:, :k]
    sigma = np.median(np.sort(dist, axis=1)[:, k - 1])
    W = np.zeros((n, n))
    for i in range(n):
        W[i, nbrs[i]] = np.exp(-(dist[i, nbrs[i]] / sigma) ** 2)
    W = (W + W.T) / 2
    return W / W.sum(1, keepdims=True), nbrs


def test_transition_row_is_the_row_of_the_hand_built_random_walk_matrix():
    X, k = cloud(), 6
    Pd, nbrs = dense_P(X, k)
    P, _ = transition_matrix(X, k=k)
    for i in (0, 7, 39):
        row = transition_row(P, i, 1)
        assert row.shape == (len(X),)
        assert np.all(row >= 0) and row.sum() == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(row, Pd[i], atol=1e-12)
        # one step reaches only graph neighbours: i's k nearest and the points that have i among theirs
        support = set(nbrs[i]) | {j for j in range(len(X)) if i in nbrs[j]}
        outside = np.setdiff1d(np.arange(len(X)), sorted(support))
        assert row[i] == 0.0 and np.all(row[outside] == 0.0) and np.all(row[sorted(support)] > 0)


def test_transition_row_after_t_steps_is_the_row_of_the_matrix_power():
    X, k = cloud(seed=1), 5
    Pd, _ = dense_P(X, k)
    P, _ = transition_matrix(X, k=k)
    for t in (2, 7):
        row = transition_row(P, 3, t)
        np.testing.assert_allclose(row, np.linalg.matrix_power(Pd, t)[3], atol=1e-12)
        assert row.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_array_equal(transition_row(P, 3, 0), np.eye(len(X))[3])  # P⁰ = I
    with pytest.raises(ValueError):
        transition_row(P, len(X), 1)
    with pytest.raises(ValueError):
        transition_row(P, 0, 1.5)


def test_the_explorer_walks_on_the_graph_the_diffusion_map_decomposes():
    """Same k (clipped alike) and σ: the eigenvectors of the exact diffusion map are eigenvectors of the matrix
    whose rows the page shows, P φ_j = μ_j φ_j."""
    X = cloud(n=60, seed=2)
    dm = exact_diffusion(X, n_components=5, k=8)
    P = exact_transition(X, k=8)
    np.testing.assert_allclose(P @ dm.coords, dm.coords * dm.eigenvalues[None, :], atol=1e-9)
    small = cloud(n=25, seed=3)  # k above n - 1 is clipped the same way on both sides
    dm, P = exact_diffusion(small, n_components=3, k=50), exact_transition(small, k=50)
    np.testing.assert_allclose(P @ dm.coords, dm.coords * dm.eigenvalues[None, :], atol=1e-9)


def test_psi_t_scales_each_eigenvector_by_its_eigenvalue_to_the_power_t():
    rng = np.random.default_rng(4)
    phi, mu = rng.normal(size=(30, 3)), np.array([0.9, 0.5, 0.2])
    np.testing.assert_array_equal(diffusion_coordinates(phi, mu, 0), phi)
    for t in (1, 2, 10):
        psi = diffusion_coordinates(phi, mu, t)
        for j in range(3):
            np.testing.assert_allclose(psi[:, j], mu[j] ** t * phi[:, j], rtol=1e-14)
    # large t flattens the fast-decaying coordinate: its spread relative to the slowest one is (μ_j/μ_1)^t
    psi = diffusion_coordinates(phi, mu, 20)
    assert np.ptp(psi[:, 2]) / np.ptp(psi[:, 0]) == pytest.approx((0.2 / 0.9) ** 20 * np.ptp(phi[:, 2])
                                                                  / np.ptp(phi[:, 0]))
    dm = diffusion_map(cloud(seed=5), n_components=4, k=6)
    np.testing.assert_allclose(dm.embedding(3), diffusion_coordinates(dm.coords, dm.eigenvalues, 3))
    with pytest.raises(ValueError):
        diffusion_coordinates(phi, mu[:2], 1)
    with pytest.raises(ValueError):
        diffusion_coordinates(phi, mu, -1)


def test_psi_t_distances_are_diffusion_distances():
    """With all n − 1 non-trivial coordinates (here all but the most negative μ, negligible at this t),
    |ψ_t(i) − ψ_t(j)| is the diffusion distance at time t: Σ_l (P^t[i, l] − P^t[j, l])² / π_l with π = d / Σd."""
    X, k, t = cloud(n=30, seed=6), 8, 20
    dm = diffusion_map(X, n_components=len(X) - 2, k=k)
    P, _ = transition_matrix(X, k=k)
    left_out = np.sort(np.linalg.eigvals(P.toarray()).real)[0]  # the one coordinate diffusion_map cannot return
    assert left_out < dm.eigenvalues.min() and abs(left_out) ** (2 * t) < 1e-10
    pi = dm.degrees / dm.degrees.sum()
    psi = diffusion_coordinates(dm.coords, dm.eigenvalues, t)
    rows = {i: transition_row(P, i, t) for i in (0, 5, 17)}
    for i, j in ((0, 5), (0, 17), (5, 17)):
        d_walk = np.sum((rows[i] - rows[j]) ** 2 / pi)
        d_psi = np.sum((psi[i] - psi[j]) ** 2)
        assert d_psi == pytest.approx(d_walk, rel=1e-4)


def test_spectrum_figure_marks_the_latent_dimension():
    mu = np.linspace(0.99, 0.90, 12)
    for D in (3, 7):
        fig = diffusion_spectrum_figure(mu, D, t=0, shown=[1, 4])
        kept = next(tr for tr in fig.data if tr.name == f"kept by latent D = {D}")
        np.testing.assert_array_equal(kept.x, np.arange(1, D + 1))
        np.testing.assert_allclose(kept.y, mu[:D])
        beyond = next(tr for tr in fig.data if tr.name == "beyond D")
        np.testing.assert_array_equal(beyond.x, np.arange(D + 1, 13))
        lines = [s for s in fig.layout.shapes if s.type == "line"]
        assert len(lines) == 1 and lines[0].x0 == lines[0].x1 == D + 0.5
        circled = next(tr for tr in fig.data if tr.name == "on the axes")
        np.testing.assert_array_equal(circled.x, [1, 4])
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
        assert not any("ψ" in (tr.name or "") for tr in fig.data)  # t = 0: no scaling drawn
    fig = diffusion_spectrum_figure(mu, 3, t=5)
    scaled = next(tr for tr in fig.data if "⁵" in (tr.name or ""))
    np.testing.assert_allclose(scaled.y, mu ** 5)


def test_explorer_figures_name_the_coordinates_they_show():
    rng = np.random.default_rng(7)
    psi2, psi3 = rng.normal(size=(50, 2)), rng.normal(size=(50, 3))
    fig = diffusion_pair_figure(psi2, [2, 5], [0.98, 0.9], None, "", False, t=10, highlight=[4])
    assert fig.layout.xaxis.title.text == "μ₂¹⁰φ₂ (μ₂ = 0.9800)" and fig.layout.yaxis.title.text.startswith("μ₅¹⁰φ₅")
    assert fig.data[1].x[0] == pytest.approx(psi2[4, 0])  # the walk start, circled
    fig = diffusion_pair_figure(psi3, [1, 2, 3], [0.99, 0.98, 0.97], rng.normal(size=50), "θ", True)
    assert [fig.layout.scene[a].title.text for a in ("xaxis", "yaxis", "zaxis")] == ["φ₁", "φ₂", "φ₃"]
    row = transition_row(transition_matrix(psi2, k=5)[0], 4, 1)
    fig = transition_row_figure(psi2, row, 4, 1, ["x", "y"])
    np.testing.assert_allclose(fig.data[0].marker.color, row.astype(np.float32))
    assert fig.data[0].marker.cmin == 0 and fig.data[0].marker.cmax == pytest.approx(row.max())
    assert fig.layout.xaxis.title.text == "x" and fig.layout.yaxis.title.text == "y"
