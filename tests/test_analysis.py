"""The computations behind the app's views (vdae_core.study.analysis), with small stand-in models."""
import json
import os

import numpy as np
import pytest
import torch

from vdae_core.study import analysis
from vdae_core.study import compare
from vdae_core.study import diagnostics
from vdae_core.pipeline import runs
from vdae_core.pipeline import train
from vdae_core.study import evaluation_cache
from vdae_core.data.meshes import torus_mesh
from vdae_core.foundation.errors import UserInputError
from vdae_core.pipeline.run_index import find_runs, list_run_infos, new_run_dir, read_run_info, zip_folder


class NoisyIdentity:
    """encode = decode = identity; a walk step adds Gaussian noise of size ``s``."""

    data_dim = latent_dim = 3
    native_walk = True

    def __init__(self, s=0.2):
        self.s = s

    def encode(self, x):
        return np.asarray(x, dtype=np.float32)

    def decode(self, z):
        return np.asarray(z, dtype=np.float32)

    def random_walk(self, x0, steps, generator):
        out = [np.asarray(x0, dtype=np.float32)]
        for _ in range(steps):
            out.append(out[-1] + self.s * torch.randn(out[-1].shape, generator=generator).numpy())
        return np.stack(out)

    def burst(self, x0, n, generator):
        return np.asarray(x0)[None] + self.s * torch.randn((n, 3), generator=generator).numpy()

    def sample(self, n, generator):
        return torch.randn((n, 3), generator=generator).numpy()


def test_display_projection():
    rng = np.random.default_rng(0)
    X3 = rng.normal(size=(50, 3))
    P, names = analysis.display_coords(X3)
    assert np.allclose(P, X3) and names == ["x", "y", "z"]
    X6 = rng.normal(size=(50, 6)) * [5, 3, 1, 0.1, 0.1, 0.1]
    proj = analysis.DisplayProjection(X6)
    assert proj(X6).shape == (50, 3) and proj(X6[:, None, :]).shape == (50, 1, 3)
    assert proj.axis_names[0].startswith("PC1")
    assert analysis.DisplayProjection(X3[:, :2])(X3[:, :2], pad3=True).shape == (50, 3)


def test_exact_diffusion_limits():
    X = np.random.default_rng(0).normal(size=(60, 3))
    dm = analysis.exact_diffusion(X, n_components=3, k=8)
    assert dm.coords.shape == (60, 3)
    with pytest.raises(UserInputError, match="lower the number of points"):
        analysis.exact_diffusion(X, max_points=50)


def test_compare_walks_on_a_mesh():
    m = torus_mesh(n_theta=32, n_phi=16)
    wc = diagnostics.compare_walks(NoisyIdentity(0.3), m.vertices, m.faces, start_vertex=3, n_walkers=60, steps=8, seed=0)
    assert wc.learned.shape == (9, 60, 3) and wc.truth.shape == (9, 60, 3)
    assert np.allclose(wc.learned[0], m.vertices[3]) and np.allclose(wc.truth[0], m.vertices[3])
    assert wc.substeps > 1  # a 0.3 step is several edges long
    assert set(wc.tv) == {"true walk (exact)", "true walk (60 walkers)", "learned walk (60 walkers)"}
    assert all(v.shape == (9,) for v in wc.tv.values())
    assert 0 < wc.floor < 1 and wc.off_surface.shape == (9,)
    again = diagnostics.compare_walks(NoisyIdentity(0.3), m.vertices, m.faces, 3, 60, 8, seed=0)
    assert np.array_equal(again.truth, wc.truth) and np.array_equal(again.learned, wc.learned)
    with pytest.raises(UserInputError, match="out of range"):
        diagnostics.compare_walks(NoisyIdentity(), m.vertices, m.faces, 10**6, 5, 2)


def test_point_cloud_walk_and_burst():
    X = np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32)
    walk, tv, floor = diagnostics.point_cloud_walk(NoisyIdentity(), X, 0, 30, 5, seed=0)
    assert walk.shape == (6, 30, 3) and list(tv.values())[0].shape == (6,)
    m = torus_mesh(n_theta=16, n_phi=8)
    b, p = diagnostics.burst_comparison(NoisyIdentity(), m.vertices, m.faces, 0, 40, seed=0, substeps=2)
    assert b.shape == (40, 3) and np.isclose(p.sum(), 1.0)
    assert diagnostics.nearest_vertex(m.vertices, m.vertices[7] + 1e-4) == 7


def test_bilipschitz_of_identity_is_one():
    X = np.random.default_rng(0).normal(size=(300, 3)).astype(np.float32)
    res = analysis.per_point_bilipschitz(NoisyIdentity(), X, k=5, n_points=100, seed=0)
    assert res.idx.shape == (100,) and np.allclose(res.raw, 1.0, atol=1e-5)
    assert res.summary()["median"] == pytest.approx(1.0, abs=1e-5)
    v = np.array([1.0, 5.0, np.inf, 2.0])
    assert analysis.worst_points(v, 2).tolist() == [2, 1]


def test_decoded_grid():
    class Lin:
        latent_dim = 2

        def decode(self, z):
            return np.column_stack([z, z[:, :1] * 0])

    grid, dec = analysis.decoded_grid(Lin(), np.random.default_rng(0).normal(size=(40, 2)), g=5)
    assert grid.shape == (25, 2) and dec.shape == (25, 3)
    with pytest.raises(UserInputError, match="2-D latent"):
        analysis.decoded_grid(Lin(), np.zeros((4, 3)))


def test_evaluation_cache_and_aggregate(tmp_path):
    from vdae_core.data import DataConfig

    trained = train.train_run("beta_vae", DataConfig(dataset="circle", n=200, seed=0), {"steps": 3, "hidden": 16,
                                                                                      "device": "cpu"})
    run = tmp_path / "r"
    runs.save_run(trained, str(run))
    assert evaluation_cache.read_cached_evaluation(str(run), 60, 5, 0) is None
    s = evaluation_cache.evaluate_run_cached(str(run), trained, n_samples=60, k=5, seed=0)
    assert "fresh samples" in s["reference"] and "gw_floor" in s and "memorisation_flagged" in s
    stored = json.loads((run / evaluation_cache.UI_METRICS_FILE).read_text())
    assert evaluation_cache.read_cached_evaluation(str(run), 60, 5, 0) == stored[f"v{evaluation_cache.EVALUATION_VERSION}_n60_k5_s0"]
    # A summary cached by the previous protocol (samples against the training set) is not served.
    (run / evaluation_cache.UI_METRICS_FILE).write_text(json.dumps({"n60_k5_s0": {"gw": 0.0}}))
    assert evaluation_cache.read_cached_evaluation(str(run), 60, 5, 0) is None
    rows = [{"dataset": "torus", "model": "vdae", "seed": s, "gw": g} for s, g in ((0, 1.0), (1, 3.0))]
    rows.append({"dataset": "torus", "model": "beta_vae", "seed": 0, "gw": 2.0})
    agg = compare.aggregate_metrics(rows, metrics=("gw",))
    r = agg.set_index("model").loc["vdae"]
    assert r["runs"] == 2 and r["gw_mean"] == 2.0 and r["gw_std"] == pytest.approx(np.sqrt(2.0))
    assert r["gw"] == "2 ± 1.4"
    assert agg.set_index("model").loc["beta_vae", "gw_std"] == 0.0
    assert compare.aggregate_metrics([]).empty


def test_run_index(tmp_path):
    root = tmp_path / "runs"
    p = new_run_dir(str(root), "my data.csv", "vdae", 3)
    assert os.path.basename(p).startswith("my-data.csv_vdae_s3_")
    os.makedirs(p)
    (tmp_path / "runs" / "junk").mkdir()
    meta = {"model": "vdae", "dataset_name": "torus", "seed": 3, "latent_dim": 6, "data_config": {"n": 100},
            "saved": "now", "info": {"train_seconds": 1.5, "device": "cpu"}}
    with open(os.path.join(p, "run.json"), "w") as fh:
        json.dump(meta, fh)
    open(os.path.join(p, "weights.pt"), "wb").close()
    infos = list_run_infos(str(root))
    assert len(infos) == 1 and infos[0].label.startswith("vdae · torus · seed 3")
    assert find_runs(infos, "torus", "vdae", 3) == infos and find_runs(infos, seed=4) == []
    assert read_run_info(str(tmp_path)) is None
    assert zip_folder(p)[:2] == b"PK"


def test_inspecting_a_point_sees_a_cut_loop_and_an_exact_reconstruction():
    from vdae_core.study.analysis import inspect_point

    class Decoder:  # the identity on codes that are the points themselves; the circle's angle otherwise
        def decode(self, z):
            z = np.asarray(z, dtype=np.float64)
            return z if z.shape[1] == 2 else np.column_stack([np.cos(z[:, 0]), np.sin(z[:, 0])])

    t = np.sort(np.random.default_rng(0).uniform(0, 2 * np.pi, 400))
    X = np.column_stack([np.cos(t), np.sin(t)])
    same = inspect_point(Decoder(), X, X, 7, k=10)
    assert same.shared == 1.0 and same.reconstruction_error == pytest.approx(0.0, abs=1e-12)
    assert 7 not in same.data_neighbours and len(same.data_neighbours) == 10
    # Codes = the angle in [0, 2π): the loop is cut at 0. A point in the middle keeps its neighbours; the first
    # point's data neighbours lie on both sides of the cut, its latent ones on one side only (about half shared).
    angle = t[:, None]
    assert inspect_point(Decoder(), X, angle, 200, k=10).shared == 1.0
    cut = inspect_point(Decoder(), X, angle, 0, k=10)
    assert 0.3 <= cut.shared <= 0.7
    assert cut.reconstruction_error == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(UserInputError):
        inspect_point(Decoder(), X, X, 400)
