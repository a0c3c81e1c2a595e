"""The ground-truth diffusion random walk on a mesh's vertex graph (vdae_core.geometry.mesh_walk)."""
import numpy as np
import pytest

from vdae_core.data.meshes import _asset_mesh, normalise_mesh, sphere_mesh, torus_mesh
from vdae_core.foundation.errors import UserInputError
from vdae_core.geometry import mesh_walk as mw


@pytest.fixture(scope="module")
def torus():
    m = torus_mesh(n_theta=24, n_phi=12)
    return m, mw.mesh_graph(m.vertices, m.faces)


def test_graph_is_symmetric_stochastic_and_pi_is_stationary(torus):
    m, g = torus
    W = g.W.toarray()
    assert np.allclose(W, W.T)
    assert (np.diag(W) == 0).all()
    assert np.allclose(np.asarray(g.P.sum(1)).ravel(), 1.0)
    assert np.allclose(g.pi @ g.P.toarray(), g.pi, atol=1e-12)
    assert np.isclose(g.pi.sum(), 1.0)
    # only mesh edges carry weight, each a Gaussian of its length with sigma = median edge length
    E = mw.mesh_edges(m.faces)
    assert g.W.nnz == 2 * len(E)
    i, j = E[0]
    d = np.linalg.norm(m.vertices[i] - m.vertices[j])
    assert np.isclose(W[i, j], np.exp(-(d / g.sigma) ** 2))


def test_simulated_steps_follow_edges_and_match_P(torus):
    m, g = torus
    traj = mw.simulate_walk(g, 5, n_walkers=20000, steps=2, substeps=1, seed=0)
    assert traj.shape == (3, 20000)
    assert (traj[0] == 5).all()
    A = (g.W.toarray() > 0)
    assert A[traj[0], traj[1]].all() and A[traj[1], traj[2]].all()
    emp = np.bincount(traj[1], minlength=g.n_vertices) / traj.shape[1]
    assert mw.total_variation(emp, g.P.toarray()[5]) < 0.03


def test_simulation_is_seeded(torus):
    _, g = torus
    a = mw.simulate_walk(g, 0, 50, 10, substeps=3, seed=7)
    b = mw.simulate_walk(g, 0, 50, 10, substeps=3, seed=7)
    c = mw.simulate_walk(g, 0, 50, 10, substeps=3, seed=8)
    assert (a == b).all() and not (a == c).all()


def test_propagate_is_exact_and_converges_to_pi(torus):
    _, g = torus
    p = mw.propagate(g, 0, steps=3, substeps=2)
    assert p.shape == (4, g.n_vertices)
    assert np.allclose(p.sum(1), 1.0)
    P = g.P.toarray()
    assert np.allclose(p[1], np.eye(g.n_vertices)[0] @ P @ P)
    far = mw.propagate(g, 0, steps=40, substeps=50)
    tv = mw.exact_tv_curve(far, g.pi)
    assert tv[0] > 0.9 and tv[-1] < 0.01
    assert (np.diff(tv) <= 1e-9).all()  # TV to the stationary law never increases


def test_region_tv_and_noise_floor(torus):
    m, g = torus
    lab = mw.region_partition(m.vertices, 16, seed=0)
    assert lab.shape == (g.n_vertices,) and lab.max() + 1 == 16
    assert np.isclose(mw.coarse(g.pi, lab).sum(), 1.0)
    traj = mw.simulate_walk(g, 0, 400, 30, substeps=20, seed=0)
    tv = mw.tv_curve(traj, g.pi, lab)
    assert tv.shape == (31,) and np.all((tv >= 0) & (tv <= 1))
    floor = mw.iid_tv_floor(g.pi, 400, lab, seed=0)
    assert tv[0] > 0.8 and tv[-1] < 3 * floor
    assert mw.iid_tv_floor(g.pi, 4000, lab) < floor  # more walkers, lower floor


def test_match_substeps_grows_with_step_length(torus):
    _, g = torus
    short = mw.match_substeps(g, 0, g.edge_length)
    long = mw.match_substeps(g, 0, 6 * g.edge_length)
    assert short >= 1 and long > short
    assert mw.match_substeps(g, 0, float("nan")) == 1
    traj = np.zeros((3, 4, 3))
    traj[1] += [3.0, 4.0, 0.0]
    assert np.isclose(mw.rms_step(traj), 5.0)


def test_nearest_vertices_shapes():
    V = np.eye(3)
    idx = mw.nearest_vertices(V, np.array([[[0.9, 0, 0], [0, 0, 1.1]]]))
    assert idx.shape == (1, 2) and idx.tolist() == [[0, 2]]


def test_bad_input_is_a_user_error(torus):
    _, g = torus
    with pytest.raises(UserInputError, match="out of range"):
        mw.simulate_walk(g, g.n_vertices, 2, 2)
    with pytest.raises(UserInputError, match="out of range"):
        mw.propagate(g, -1, 2)
    with pytest.raises(UserInputError, match="at least one face"):
        mw.mesh_graph(np.random.rand(10, 3), np.zeros((0, 3), dtype=int))
    with pytest.raises(UserInputError, match="do not exist"):
        mw.mesh_graph(np.random.rand(3, 3), np.array([[0, 1, 5]]))


def test_isolated_vertex_stays_put():
    V = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 5, 5]], dtype=float)
    g = mw.mesh_graph(V, np.array([[0, 1, 2]]))
    assert np.allclose(np.asarray(g.P.sum(1)).ravel(), 1.0)
    assert (mw.simulate_walk(g, 3, 5, 4) == 3).all()


def test_shipped_meshes_build_quickly():
    bunny = normalise_mesh(_asset_mesh("bunny_libigl_3485v.off"))
    g = mw.mesh_graph(bunny.vertices, bunny.faces)
    assert g.n_vertices == 3485
    s = sphere_mesh()
    assert mw.mesh_graph(s.vertices, s.faces).n_vertices == 2562
