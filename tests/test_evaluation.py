"""The evaluation protocol (issue 10): held-out references, noise floors, memorisation, lumpiness, mixing.

Closed answers: PRDC of a sample against itself (density (k+1)/k), a copy of the training set flagged as
memorised (ratio 0), an exact sampler flagged for nothing the issue names, a sampler with 30% of its mass
in 10% of the circle flagged lumpy, the held-out split of a file recorded in the run and used.
"""
import types

import numpy as np
import pytest
import torch

from vdae_core.data import DataConfig, make_dataset
from vdae_core.foundation.errors import UserInputError
from vdae_core.metrics.lumpiness import cell_masses, lumpiness
from vdae_core.study.evaluation import (ReferencePool, evaluate_run, evaluate_samples, flagged,
                                        mixing_from_one_start)
from vdae_core.metrics.coverage import memorisation_ratio, prdc

CIRCLE = DataConfig(dataset="circle", n=1000, seed=0)


def circle_points(theta):
    return np.stack([np.cos(theta), np.sin(theta)], 1)


class FakeModel:
    """A 'model' whose sampler is a given function of (n, generator)."""

    has_encoder = False

    def __init__(self, sampler):
        self.sampler = sampler

    def sample(self, n, generator):
        return self.sampler(n, generator)


def fake_run(sampler, cfg=CIRCLE):
    ds = make_dataset(cfg)
    return types.SimpleNamespace(dataset=ds, data_config=cfg, heldout=None, model=FakeModel(sampler))


def exact_circle(n, g):
    seed = int(torch.randint(0, 2**31, (1,), generator=g))
    return make_dataset(DataConfig(dataset="circle", n=n, seed=10_000 + seed)).X


def lumpy_circle(n, g, embed=True):
    """30% of the mass uniform on an arc of 10% of the circle, the rest uniform on all of it (points of the
    'circle' dataset, embedded in R³, or the plane's unit circle with ``embed=False``)."""
    seed = int(torch.randint(0, 2**31, (1,), generator=g))
    k = int(round(n * (0.3 - 0.1) / 0.9))  # k/n + (1 − k/n) · 0.1 = 0.3 on the arc [0, 0.2π)
    if not embed:
        rng = np.random.default_rng(seed)
        return circle_points(np.concatenate([rng.uniform(0, 0.2 * np.pi, k), rng.uniform(0, 2 * np.pi, n - k)]))
    big = make_dataset(DataConfig(dataset="circle", n=20 * n, seed=20_000 + seed % 1000))
    arc = np.flatnonzero(big.params[:, 0] < 0.2 * np.pi)[:k]
    return np.concatenate([big.X[arc], big.X[-(n - k):]])


# ----------------------------------------------------------------------------------- PRDC, memorisation
def test_prdc_of_a_sample_against_itself_has_closed_values():
    X = np.random.default_rng(0).standard_normal((300, 3))
    k = 5
    r = prdc(X, X, k=k)
    assert r["precision"] == 1.0 and r["recall"] == 1.0 and r["coverage"] == 1.0
    # Each real ball holds its centre and its k neighbours: Σ_j #{i: f_j ∈ B_i} = N (k + 1).
    assert r["density"] == pytest.approx((k + 1) / k)


def test_prdc_of_a_far_away_sample_is_zero():
    X = np.random.default_rng(0).standard_normal((200, 2))
    r = prdc(X, X + 100.0, k=5)
    assert r == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_prdc_half_covered():
    """Fakes on half of the circle: coverage and recall near 1/2, precision near 1."""
    rng = np.random.default_rng(1)
    real = circle_points(rng.uniform(0, 2 * np.pi, 2000))
    fake = circle_points(rng.uniform(0, np.pi, 1000))
    r = prdc(real, fake, k=5)
    assert r["precision"] > 0.97
    assert 0.45 < r["coverage"] < 0.55 and 0.45 < r["recall"] < 0.55


def test_memorisation_ratio_closed_cases():
    rng = np.random.default_rng(2)
    T, H, E = (circle_points(rng.uniform(0, 2 * np.pi, 500)) for _ in range(3))
    assert memorisation_ratio(T, T, H) == 0.0            # a copy of the training set
    assert 0.85 < memorisation_ratio(E, T, H) < 1.15     # an independent sample: about 1 (sd ~0.05 here)
    with pytest.raises(UserInputError, match="same size"):
        memorisation_ratio(E, T, H[:100])


# ----------------------------------------------------------------------------------- lumpiness
def test_lumpiness_on_equal_cells():
    """400 equal arcs: an exact sampler's densest 10% hold ~0.13; 30% of the mass on 10% of the circle: ~0.30."""
    centres = circle_points((np.arange(400) + 0.5) / 400 * 2 * np.pi)
    expected = np.full(400, 1 / 400)
    rng = np.random.default_rng(3)
    even = lumpiness(circle_points(rng.uniform(0, 2 * np.pi, 20_000)), centres, expected)
    lumpy = lumpiness(lumpy_circle(20_000, torch.Generator().manual_seed(0), embed=False), centres, expected)
    assert 0.10 <= even["lump_top10"] < 0.15
    assert 0.29 < lumpy["lump_top10"] < 0.32
    assert lumpy["lump_max"] > 2.5 > even["lump_max"]


def test_cell_masses_sum_to_one_and_follow_the_law():
    centres = circle_points(np.array([0.0, np.pi]))      # two half circles
    big = circle_points(np.random.default_rng(4).uniform(0, 2 * np.pi, 10_000))
    m = cell_masses(centres, big)
    assert m.sum() == pytest.approx(1.0)
    assert m == pytest.approx([0.5, 0.5], abs=0.02)


# ----------------------------------------------------------------------------------- the protocol
def test_exact_sampler_is_not_flagged_copy_is_memorised_lumps_are_lumpy():
    exact = evaluate_run(fake_run(exact_circle), n_samples=1000, reps=8, with_gw=False, with_topology=False)
    assert "fresh samples" in exact["reference"]
    m = exact["metrics"]
    for key in ("memorisation", "lump_top10", "mmd2_h20", "precision", "coverage", "ks_theta"):
        assert not m[key]["flagged"], (key, m[key])
    assert 0.9 < m["memorisation"]["value"] < 1.1

    run = fake_run(None)
    run.model = FakeModel(lambda n, g: run.dataset.X[:n])   # the training set itself
    copy = evaluate_run(run, n_samples=1000, reps=8, with_gw=False, with_topology=False)["metrics"]
    assert copy["memorisation"]["value"] == 0.0 and copy["memorisation"]["flagged"]

    lumpy = evaluate_run(fake_run(lumpy_circle), n_samples=1000, reps=8, with_gw=False, with_topology=False)["metrics"]
    assert lumpy["lump_top10"]["flagged"] and lumpy["lump_top10"]["value"] > 0.25
    assert not lumpy["memorisation"]["flagged"]          # lumpy, but not copied


def test_topology_columns_the_exact_sampler_keeps_the_loop_and_an_arc_loses_it():
    """Betti numbers of the samples with the data's own as floor: the exact sampler has b0 = b1 = 1 like the
    data and is not flagged; a sampler that leaves out half the circle (a model that tore it open) has b1 = 0,
    is flagged, and its H1 bottleneck distance is beyond 3 floor sds. One that leaves out a quarter still has
    b1 = 1 — the Rips complex closes the 90° gap at the scale of its chord, a loop born late that lives long
    enough to count — and only the bottleneck distance sees it (the birth is 1.4 instead of ~0). One that
    collapses to a single point has b0 = 1, b1 = 0 and is flagged too (no error)."""
    exact = evaluate_run(fake_run(exact_circle), n_samples=600, reps=3, with_gw=False)["metrics"]
    for key in ("betti0", "betti1", "bottleneck_h1"):
        assert not exact[key]["flagged"], (key, exact[key])
    assert exact["betti1"]["value"] == exact["betti1"]["floor_mean"] == 1.0

    def arc(share):
        def sampler(n, g):
            seed = 30_000 + int(torch.randint(0, 999, (1,), generator=g))
            ds = make_dataset(DataConfig(dataset="circle", n=3 * n, seed=seed))
            return ds.X[ds.params[:, 0] < share * 2 * np.pi][:n]
        return sampler

    torn = evaluate_run(fake_run(arc(0.5)), n_samples=600, reps=3, with_gw=False)["metrics"]
    assert torn["betti1"]["value"] == 0.0 and torn["betti1"]["flagged"]
    assert torn["bottleneck_h1"]["flagged"] and torn["bottleneck_h1"]["value"] > exact["bottleneck_h1"]["value"]
    gap = evaluate_run(fake_run(arc(0.75)), n_samples=600, reps=3, with_gw=False)["metrics"]
    assert gap["betti1"]["value"] == 1.0 and gap["bottleneck_h1"]["flagged"]
    point = evaluate_run(fake_run(lambda n, g: np.repeat(exact_circle(10, g)[:1], n, 0)), n_samples=600, reps=3,
                         with_gw=False)["metrics"]
    assert (point["betti0"]["value"], point["betti1"]["value"]) == (1.0, 0.0) and point["bottleneck_h1"]["flagged"]


def test_reference_is_never_the_training_set():
    run = fake_run(exact_circle)
    pool = ReferencePool(run.dataset, run.data_config, seed=0)
    R = pool.reference(1000)
    shared = set(map(tuple, R.X)) & set(map(tuple, run.dataset.X))
    assert len(shared) <= 2  # chance coincidences of float32 points on a curve; the training seed would give 1000
    assert not np.array_equal(pool.floor_sample(1000, 0).X, pool.floor_sample(1000, 1).X)


def test_file_data_is_split_and_the_held_out_part_is_the_reference(tmp_path):
    from vdae_core.pipeline.runs import load_run, save_run
    from vdae_core.pipeline.train import train_run

    theta = np.random.default_rng(5).uniform(0, 2 * np.pi, 500)
    path = tmp_path / "pts.npy"
    np.save(path, circle_points(theta).astype(np.float32))
    cfg = DataConfig(dataset=str(path), n=500, seed=0)
    run = train_run("beta_vae", cfg, {"steps": 3, "hidden": 16, "device": "cpu"}, seed=0)
    assert run.dataset.n == 400 and run.heldout.n == 100
    both = np.concatenate([run.dataset.X, run.heldout.X])
    assert len(np.unique(both, axis=0)) == 500              # a partition of the file's points
    save_run(run, str(tmp_path / "r"))
    back = load_run(str(tmp_path / "r"))
    np.testing.assert_array_equal(back.heldout.X, run.heldout.X)
    assert back.data_hash == make_dataset(cfg).content_hash  # still matches the whole upload
    res = evaluate_run(back, n_samples=200, reps=3, with_gw=False)
    assert "held-out split (100 points" in res["reference"]
    assert res["n_reference"] == 100


def test_a_file_run_without_held_out_points_is_refused_with_a_message():
    ds = make_dataset(CIRCLE)
    cfg = DataConfig(dataset="/some/file.npy", n=100)
    with pytest.raises(UserInputError, match="held-out"):
        ReferencePool(ds, cfg, None)


def test_flag_rule_sides():
    assert flagged("gw", 1.0, 0.5, 0.1) and not flagged("gw", 0.7, 0.5, 0.1)
    assert flagged("memorisation", 0.5, 1.0, 0.05) and not flagged("memorisation", 1.3, 1.0, 0.05)
    assert flagged("density", 1.5, 1.0, 0.05) and flagged("density", 0.5, 1.0, 0.05)
    # a Betti number must match the data's: one unit off is flagged even when every floor sample agreed (sd 0)
    assert flagged("betti1", 0.0, 1.0, 0.0) and flagged("betti1", 2.0, 1.0, 0.0) and not flagged("betti1", 1.0, 1.0, 0.0)


def test_generated_points_with_nan_are_refused():
    run = fake_run(exact_circle)
    pool = ReferencePool(run.dataset, run.data_config)
    G = exact_circle(100, torch.Generator().manual_seed(0)).copy()
    G[3, 0] = np.nan
    with pytest.raises(UserInputError, match="NaN"):
        evaluate_samples(G, pool, n=100, reps=2)


# ----------------------------------------------------------------------------------- mixing
class WalkModel(FakeModel):
    """Walkers that jump to exact samples after ``lag`` steps (before: stay at the start)."""

    def __init__(self, lag):
        super().__init__(exact_circle)
        self.lag = lag

    def random_walk(self, x0, steps, generator):
        out = [x0]
        for t in range(1, steps + 1):
            out.append(exact_circle(len(x0), generator) if t >= self.lag else x0)
        return np.stack(out)


def test_mixing_step_is_found():
    run = fake_run(None)
    run.model = WalkModel(lag=4)
    res = mixing_from_one_start(run, start=0, n_walkers=500, max_steps=8, floor_reps=20)
    assert res["mixing_step"]["ks_theta"] == 4 and res["mixing_step"]["mmd2"] == 4
    # All walkers at one point θ0: KS against the uniform law is max(θ0, 2π − θ0) / 2π (± the reference's noise).
    u = run.dataset.params[0, 0] / (2 * np.pi)
    assert res["curves"]["ks_theta"][0] == pytest.approx(max(u, 1 - u), abs=0.05)


def test_finite_registered_sets_are_split_like_files(tmp_path):
    """An image set subsamples a fixed pool (no fresh samples): it gets a recorded held-out split, and its
    floors are drawn at half the training size so that they differ from draw to draw (nonzero spread)."""
    from vdae_core.data.split import has_fresh_samples
    from vdae_core.pipeline.train import train_run

    assert has_fresh_samples("circle") and has_fresh_samples("bunny") and not has_fresh_samples("digits")
    run = train_run("beta_vae", DataConfig(dataset="digits", n=600, seed=0), {"steps": 3, "hidden": 16,
                                                                            "device": "cpu"}, seed=0)
    assert run.dataset.n == 480 and run.heldout.n == 120
    res = evaluate_run(run, n_samples=1000, reps=3, with_gw=False)
    assert "held-out split (120 points" in res["reference"]
    assert res["n_generated"] == 240                        # half the training points
    m = res["metrics"]
    assert m["mmd2_h"]["floor_sd"] > 0 and m["coverage"]["floor_sd"] > 0
    assert m["memorisation"]["floor_sd"] > 0


def test_too_small_a_file_gets_no_split_and_says_why(tmp_path):
    from vdae_core.pipeline.train import train_run

    path = tmp_path / "small.npy"
    np.save(path, circle_points(np.random.default_rng(6).uniform(0, 2 * np.pi, 60)).astype(np.float32))
    run = train_run("beta_vae", DataConfig(dataset=str(path), n=60), {"steps": 2, "hidden": 8, "device": "cpu"})
    assert run.heldout is None and run.dataset.n == 60
    with pytest.raises(UserInputError, match="too few points for a held-out split of at least 20"):
        evaluate_run(run, n_samples=100, reps=2, with_gw=False)


def test_floors_stored_in_a_folder_are_shared_between_processes(tmp_path, monkeypatch):
    """A floor written by one process is read back by another (here: the in-process cache cleared) with the
    same numbers and without recomputing it; an unreadable floor file is recomputed, not trusted."""
    import vdae_core.study.evaluation as ev

    folder = str(tmp_path / ".floors")
    monkeypatch.setattr(ev, "_FLOOR_CACHE", {})
    first = evaluate_run(fake_run(exact_circle), n_samples=300, reps=3, with_gw=False, floor_dir=folder)
    files = [f for f in __import__("os").listdir(folder) if f.endswith(".json")]
    assert len(files) == 1

    monkeypatch.setattr(ev, "_FLOOR_CACHE", {})           # a new worker process
    calls = []
    real = ev.sample_metrics
    monkeypatch.setattr(ev, "sample_metrics", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    second = evaluate_run(fake_run(exact_circle), n_samples=300, reps=3, with_gw=False, floor_dir=folder)
    assert len(calls) == 1                                 # the generated sample only: no floor recomputed
    for key, e in first["metrics"].items():
        assert second["metrics"][key] == e, key

    (tmp_path / ".floors" / files[0]).write_text("{not json")
    monkeypatch.setattr(ev, "_FLOOR_CACHE", {})
    calls.clear()
    third = evaluate_run(fake_run(exact_circle), n_samples=300, reps=3, with_gw=False, floor_dir=folder)
    assert len(calls) == 1 + 3                             # value and three floor draws
    assert third["metrics"]["mmd2_h"]["floor_mean"] == first["metrics"]["mmd2_h"]["floor_mean"]
