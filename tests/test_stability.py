"""Issue 14, part 4: seed stability on common points, and its CLI."""
import json

import numpy as np
import pytest

from vdae_core.api import DataConfig, make_dataset, train_run
from vdae_core.foundation.errors import UserInputError
from vdae_core.study.stability import COMMON_SEED, stability_of_runs


def _runs(latent_dim, seeds=(0, 1)):
    return [train_run("beta_vae", DataConfig(dataset="circle", n=400, seed=s), dict(steps=300, latent_dim=latent_dim),
                      seed=s, device="cpu") for s in seeds]


def test_stability_reads_every_seed_on_the_same_points_and_summarises_the_spread():
    runs = _runs(1)
    rows = [{"seed": 0, "gw": 0.1, "mmd2_h": 1.0}, {"seed": 1, "gw": 0.3, "mmd2_h": 2.0}]
    P = make_dataset(DataConfig(dataset="circle", n=300, seed=COMMON_SEED)).X
    st = stability_of_runs(runs, rows, P)
    assert st.bilip.shape == (2, 300) and st.torn.shape == (2, 300) and st.seeds == [0, 1]
    # per-point values are those of each run read on P by itself
    from vdae_core.study.analysis import per_point_bilipschitz

    np.testing.assert_allclose(st.bilip[1], per_point_bilipschitz(runs[1].model, P, n_points=300).scale_free)
    cv = st.bilip_cv
    B = st.bilip
    np.testing.assert_allclose(cv, B.std(0, ddof=1) / B.mean(0), rtol=1e-9)
    assert set(np.unique(st.tear_share)) <= {0.0, 0.5, 1.0}
    # a line latent must cut the circle on every seed (a tear somewhere each time)
    assert all(t.sum() > 0 for t in st.torn)
    assert st.metrics["gw"] == {"mean": 0.2, "std": pytest.approx(np.std([0.1, 0.3], ddof=1)), "min": 0.1, "max": 0.3,
                                "values": [0.1, 0.3]}
    s = st.summary()
    assert s["points_torn_by_every_seed"] + s["points_torn_by_some_seeds"] == int((st.tear_share > 0).sum())
    json.dumps(s)  # plain JSON


def test_one_seed_is_not_a_spread():
    with pytest.raises(UserInputError, match="at least 2"):
        stability_of_runs(_runs(2, seeds=(0,)), [{}], np.zeros((10, 3)))


@pytest.mark.slow
def test_stability_cli_trains_the_seeds_and_writes_its_results(tmp_path):
    from vdae_core.cli import main

    out = tmp_path / "st"
    assert main(["stability", "--dataset", "circle", "--model", "beta_vae", "--seeds", "2", "--n", "200",
                 "--steps-scale", "0.1", "--workers", "1", "--out", str(out)]) == 0
    rep = json.loads((out / "stability.json").read_text())
    assert rep["seeds"] == [0, 1] and rep["n_points"] == 200 and "gw" in rep["metrics"]
    with np.load(out / "per_point.npz") as z:
        assert z["bilip"].shape == (2, 200) and z["tear_share"].shape == (200,)
    assert "coefficient of variation" in (out / "stability.html").read_text()
    assert main(["stability", "--dataset", "circle", "--model", "beta_vae", "--seeds", "2", "--out", str(out)]) == 2


def test_the_stability_figure_colours_each_point_by_its_cv_and_tear_share():
    from vdae_core.viz.topology import stability_figure

    rng = np.random.default_rng(0)
    P, cv, share = rng.random((50, 3)), rng.random(50), rng.integers(0, 3, 50) / 2
    fig = stability_figure(P, cv, share)
    np.testing.assert_allclose(np.asarray(fig.data[0].marker.color), cv)
    np.testing.assert_allclose(np.asarray(fig.data[1].marker.color), share)
    assert fig.data[1].marker.cmax == 1.0
