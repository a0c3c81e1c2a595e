"""Issue 14, part 1: persistent homology with closed answers, its threshold, distances, and the CLI."""
import json

import numpy as np
import pytest

from vdae_core.api import DataConfig, make_dataset
from vdae_core.foundation.errors import UserInputError
from vdae_core.metrics.persistence import COVER_FRACTION, KAPPA, diagram_distances, persistence


def _data(name, n, noise, seed=0):
    X = make_dataset(DataConfig(dataset=name, n=n, seed=seed)).X.astype(np.float64)
    return X + noise * np.random.default_rng(seed + 1).standard_normal(X.shape)


def _eight(n, noise, seed=0, touching=False):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, n)
    if touching:  # two unit circles touching at the origin
        X = np.c_[np.cos(t) + np.where(rng.integers(0, 2, n) == 1, 1.0, -1.0), np.sin(t)]
    else:  # the lemniscate of Gerono, one curve crossing itself
        X = np.c_[np.sin(t), np.sin(t) * np.cos(t)]
    return X + noise * rng.standard_normal(X.shape)


# Noise: Gaussian, std relative to the shape's size (unit circle and sphere, torus R=2, r=0.7; blobs 5×5 grid).
@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_a_circle_has_one_component_and_one_loop(noise):
    X = _data("circle", 1000, noise)
    p = persistence(X, maxdim=1)
    assert p.betti == [1, 1]
    # A curve is covered before 400 points: the subsample stops at COVER_FRACTION of the median distance.
    from scipy.spatial.distance import pdist

    assert p.subsampled and (p.n_used < 400 if noise == 0 else p.n_used <= 400)  # noise thickens the curve
    if noise == 0:  # stopped by the radius (a median over a random 1,000-point subset, hence the 5%)
        assert 0 < p.cover_radius <= COVER_FRACTION * np.median(pdist(X)) * 1.05


def test_a_subsample_that_stops_at_its_cover_radius_keeps_the_diagram_within_twice_that_radius():
    # Stability (Chazal et al. 2009): bottleneck(whole, subsample) <= 2 r. The whole 300 points through ripser.
    from ripser import ripser

    X = _data("circle", 300, 0.02)
    p = persistence(X, maxdim=1)
    assert p.n_used < 300
    whole = ripser(X, maxdim=1)["dgms"]

    def finite(d):
        return d[np.isfinite(d[:, 1])]

    from persim import bottleneck

    from vdae_core.metrics.persistence import bottleneck_born_at_zero  # exact for H0; persim's takes minutes here

    assert bottleneck_born_at_zero(finite(whole[0])[:, 1], finite(p.diagrams[0])[:, 1]) <= 2 * p.cover_radius + 1e-9
    assert bottleneck(finite(whole[1]), finite(p.diagrams[1])) <= 2 * p.cover_radius + 1e-9


def test_farthest_points_stop_once_everything_is_within_the_radius_and_not_before():
    from scipy.spatial.distance import cdist

    from vdae_core.geometry.farthest_points import farthest_point_indices

    X = _data("circle", 500, 0.0)
    idx = farthest_point_indices(X, 400, seed=0, stop_radius=0.05)
    assert 10 < len(idx) < 400
    assert cdist(X, X[idx]).min(1).max() <= 0.05          # covered
    assert cdist(X, X[idx[:-1]]).min(1).max() > 0.05      # and not one point sooner
    assert len(farthest_point_indices(X, 400, seed=0)) == 400  # no radius: the count asked for


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_a_sphere_has_a_void_and_no_loop(noise):
    assert persistence(_data("sphere", 1000, noise), maxdim=2, max_points=150).betti == [1, 0, 1]


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_the_torus_has_two_loops(noise):
    assert persistence(_data("torus", 2000, noise), maxdim=1).betti == [1, 2]


@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_nine_blobs_are_nine_components(noise):
    assert persistence(_data("blobs9", 2000, noise), maxdim=0).betti == [9]


@pytest.mark.parametrize("touching", [False, True])
@pytest.mark.parametrize("noise", [0.0, 0.03])
def test_a_figure_eight_has_two_loops(noise, touching):
    assert persistence(_eight(1000, noise, touching=touching), maxdim=1).betti == [1, 2]


@pytest.mark.slow
def test_a_torus_has_a_void_when_sampled_densely_enough():
    # R = 2, r = 1 and 400 farthest points: the void lives 1.0 against a noise bar of 0.12 (13 s on 2 cores).
    rng = np.random.default_rng(0)
    u, v = rng.uniform(0, 2 * np.pi, (2, 4000))
    T = np.c_[(2 + np.cos(v)) * np.cos(u), (2 + np.cos(v)) * np.sin(u), np.sin(v)]
    assert persistence(T, maxdim=2, max_points=400).betti == [1, 2, 1]


def test_the_threshold_is_kappa_gaps_and_scales_with_the_cloud():
    X = _data("circle", 300, 0.0)
    p, q = persistence(X), persistence(10 * X)
    finite = p.diagrams[0][np.isfinite(p.diagrams[0][:, 1]), 1]
    assert p.tau == pytest.approx([KAPPA[0] * np.quantile(finite, 0.9), KAPPA[1] * np.quantile(finite, 0.9)])
    assert q.tau == pytest.approx([10 * t for t in p.tau]) and q.betti == p.betti
    assert q.n_used == p.n_used and q.cover_radius == pytest.approx(10 * p.cover_radius)  # the subsample too
    # Every counted bar is longer than tau, every other bar shorter: long_bars agrees with betti.
    assert [len(p.long_bars(k)) for k in range(2)] == p.betti


def test_diagram_distances_are_zero_to_itself_and_see_a_missing_loop():
    circle = persistence(_data("circle", 400, 0.0))
    eight = persistence(_eight(400, 0.0, touching=True) / 2)
    same = diagram_distances(circle, circle)
    assert same["bottleneck"] == [0.0, 0.0] and same["wasserstein"] == [0.0, 0.0]
    d = diagram_distances(circle, eight)
    # the eight's second loop (persistence ~0.8 at half scale) is unmatched: at least half its life away
    longest = sorted(eight.diagrams[1][:, 1] - eight.diagrams[1][:, 0])[-2]
    assert d["bottleneck"][1] >= longest / 2 - 1e-9


def test_bad_clouds_are_refused_with_a_message():
    with pytest.raises(UserInputError, match="NaN"):
        persistence(np.array([[0.0, 1.0], [np.nan, 0.0], [1.0, 1.0]]))
    with pytest.raises(UserInputError, match="at least 3"):
        persistence(np.zeros((2, 3)))
    with pytest.raises(UserInputError, match="coincide"):
        persistence(np.zeros((10, 3)))
    with pytest.raises(UserInputError, match="maxdim"):
        persistence(np.random.default_rng(0).random((10, 3)), maxdim=3)


def test_topology_cli_writes_diagrams_betti_numbers_distances_and_floors(tmp_path, capsys):
    from vdae_core.cli import main

    run = str(tmp_path / "run")
    assert main(["train", "--dataset", "circle", "--n", "600", "--model", "beta_vae", "--steps-scale", "0.05",
                 "--quiet", "--out", run]) == 0
    out = tmp_path / "topo.json"
    assert main(["topology", "--run", run, "--n", "300", "--reps", "2", "--out", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep["clouds"]["data"]["betti"] == [1, 1]  # fresh samples of the circle law
    assert set(rep["clouds"]) == {"data", "latent", "samples"} and rep["clouds"]["latent"]["n_points"] == 600
    assert len(rep["distances"]["bottleneck"]) == 2 and len(rep["floor"]["bottleneck"]) == 2
    assert all(b == [1, 1] for b in rep["floor_betti"])  # other samples of the law: the same topology
    assert rep["summary"][1].startswith("1 loop found in the data")
    assert "fresh samples" in rep["reference"]
    # a second run into the same file is refused without --overwrite
    assert main(["topology", "--run", run, "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_the_figure_names_what_each_cloud_has_and_says_why_a_cloud_is_missing():
    from vdae_core.viz.topology import distance_rows, persistence_figure

    circle, eight = persistence(_data("circle", 300, 0.0)), persistence(_eight(300, 0.0, touching=True))
    rep = {"clouds": {"data": circle.to_dict(), "latent": None, "samples": eight.to_dict()},
           "latent_note": "WGAN-GP has no encoder", "distances": diagram_distances(circle, eight),
           "floor": {"bottleneck": [[0.1, 0.01], [0.2, 0.02]], "wasserstein": [[0.3, 0.03], [0.4, 0.04]]}}
    fig = persistence_figure(rep)
    titles = [a.text for a in fig.layout.annotations]
    assert "data: 1 component, 1 loop" in titles and "samples: 1 component, 2 loops" in titles
    assert "WGAN-GP has no encoder" in titles and "latent codes: none" in titles
    # counted bars are drawn in their dimension's colour: one red segment for the circle, two for the eight
    red = [t for t in fig.data if t.mode == "lines" and t.line.color == "#d62728"]
    assert [sum(v is None for v in t.x) for t in red] == [1, 2]
    rows = distance_rows(rep)
    assert [r["homology"] for r in rows] == ["H0 (components)", "H1 (loops)"]
    assert rows[1]["bottleneck floor (law vs law)"] == "0.2 ± 0.02"


def test_runs_on_the_same_data_share_the_datas_diagrams_and_floor(monkeypatch):
    import vdae_core.study.topology as topo
    from vdae_core.api import train_run

    runs = [train_run("beta_vae", DataConfig(dataset="circle", n=300, seed=0), dict(steps=20), seed=s, device="cpu")
            for s in (0, 1)]
    calls = []
    real = topo.persistence
    monkeypatch.setattr(topo, "persistence", lambda *a, **k: calls.append(1) or real(*a, **k))
    topo._LAW_CACHE.clear()
    first = topo.topology_report(runs[0], n=200, reps=2)
    assert len(calls) == 1 + 2 + 2  # data, two floor samples; codes, samples
    calls.clear()
    second = topo.topology_report(runs[1], n=200, reps=2)
    assert len(calls) == 2  # only this run's codes and samples
    assert first["floor"] == second["floor"] and first["clouds"]["data"] == second["clouds"]["data"]
    assert first["floor_betti"] == second["floor_betti"]


def test_the_fast_h0_bottleneck_equals_persims_matching():
    """bottleneck_born_at_zero against persim's general bottleneck on 200 seeded pairs of birth-0 diagrams of
    0–40 points at three scales, empty ones included: equal to 1e-12."""
    import persim

    from vdae_core.metrics.persistence import bottleneck_born_at_zero

    rng = np.random.default_rng(0)
    for _ in range(200):
        p, q = rng.integers(0, 40, 2)
        scale = rng.choice([0.1, 1.0, 10.0])
        a = rng.exponential(scale, p)
        b = (a[:q] + rng.normal(0, 0.05 * scale, min(p, q))) if rng.random() < 0.3 else rng.exponential(scale, q)
        b = np.abs(b)
        want = persim.bottleneck(np.c_[np.zeros(len(a)), a], np.c_[np.zeros(len(b)), b])
        assert bottleneck_born_at_zero(a, b) == pytest.approx(want, abs=1e-12)
