"""Quality bars of issue 2 with default settings (slow: run with `python -m pytest -m slow`)."""
import pytest

from vdae_core.api import DataConfig, canonical_correlations, diffusion_map, random_walk, train_run
from vdae_core.study.diagnostics import walk_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def circle_run():
    return train_run("vdae", DataConfig(dataset="circle", n=2000, seed=0), {}, seed=0, device="cpu")


def test_circle_spectralnet_matches_exact_diffusion_map(circle_run):
    dm = diffusion_map(circle_run.dataset.X, 2, k=circle_run.model.config.knn)
    cc = canonical_correlations(circle_run.model.encode(circle_run.dataset.X), dm.coords)
    assert cc.mean() >= 0.99


def test_circle_walk_mixes_from_one_point(circle_run):
    ds = circle_run.dataset
    walk = random_walk(circle_run.model, ds.X, 1000, 20, start=0, seed=0)
    rep = walk_report(ds, walk)
    # 1000 walkers from ONE point: after 20 steps their angles are uniform (KS < 0.05;
    # the 95% critical value of KS for n = 1000 is 0.043).
    assert rep[20]["ks_theta"] < 0.05
    # The walk did move: after one step the walkers are spread (KS far from 1).
    assert rep[1]["ks_theta"] < 0.9


def test_circle_walkers_are_on_the_loop_and_spread_like_exact_samples(circle_run):
    import numpy as np

    from vdae_core.api import make_dataset
    from vdae_core.study.diagnostics import NearestLookup

    ds = circle_run.dataset
    walk = random_walk(circle_run.model, ds.X, 1000, 20, start=0, seed=0)
    lookup = NearestLookup(ds.X)
    spacing = lookup.spacing
    # Issue 2's on-manifold bar, measured against the true loop: the walkers' median distance to the
    # circle is at most one data spacing (measured 0.49-0.53 spacings; 1.7 with the raw decoder input).
    assert np.median(ds.manifold.distance(walk[20])) <= spacing
    # Distance to the nearest *data point* also counts the distance along the loop, which is already
    # about one spacing for an exact sampler (docs/METHODS.md). Compared with 20000 exact samples: not
    # much farther (off the loop) and not much nearer (clustered on training points, which a decoder
    # that learnt the nearest-point target too well would do).
    exact = np.median(lookup.query(make_dataset(DataConfig(dataset="circle", n=20000, seed=10_000)).X)[0])
    ratio = np.median(lookup.query(walk[20])[0]) / exact
    assert 0.8 <= ratio <= 1.3


def test_sphere_walk_is_uniform_by_step_10_and_as_close_to_the_data_as_exact_samples():
    import numpy as np

    from vdae_core.api import make_dataset
    from vdae_core.study.diagnostics import NearestLookup
    from vdae_core.metrics.mmd import mmd

    run = train_run("vdae", DataConfig(dataset="sphere", n=3000, seed=0), {}, seed=0, device="cpu")
    ds = run.dataset
    walk = random_walk(run.model, ds.X, 1000, 20, start=0, seed=0)
    rng = np.random.default_rng(123)

    def uniform(n):
        v = rng.standard_normal((n, 3))
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    # Issue 2's bar: MMD² of the walkers at step 10 to fresh uniform samples is inside the 95% quantile
    # of uniform-vs-uniform MMD² (50 pairs, bandwidth fixed from uniform samples). Step 0 is far outside.
    h = mmd(uniform(1000), uniform(1000))["bandwidth"]
    q95 = np.quantile([mmd(uniform(1000), uniform(1000), bandwidth=h)["mmd2"] for _ in range(50)], 0.95)
    assert mmd(walk[10], uniform(1000), bandwidth=h)["mmd2"] <= q95
    assert mmd(walk[0], uniform(1000), bandwidth=h)["mmd2"] > 100 * q95
    # On the manifold: the walkers' median distance to the data is within 5% of an exact sampler's
    # (20000 fresh uniform points; both sit about one data spacing from the nearest data point), and
    # no less than 80% of it (not clustered on training points); to the sphere itself, under half a spacing.
    lookup = NearestLookup(ds.X)
    exact = np.median(lookup.query(make_dataset(DataConfig(dataset="sphere", n=20000, seed=10_000)).X)[0])
    assert 0.8 * exact <= np.median(lookup.query(walk[20])[0]) <= 1.05 * exact
    assert np.median(ds.manifold.distance(walk[20])) <= 0.5 * lookup.spacing


def test_blob_walkers_stay_in_their_blob():
    run = train_run("vdae", DataConfig(dataset="blobs9", n=2250, seed=0), {}, seed=0, device="cpu")
    ds = run.dataset
    walk = random_walk(run.model, ds.X, 1000, 10, start=0, seed=0)
    rep = walk_report(ds, walk, start_label=int(ds.labels[0]))
    assert rep[10]["stay"] >= 0.95
