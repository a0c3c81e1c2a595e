"""Issue 30: one metric list drives the evaluation, the tables and the CLI; a new metric is one entry."""
import numpy as np
import pytest

from vdae_core.data import DataConfig, make_dataset
from vdae_core.metrics.coverage import off_data_share
from vdae_core.study import evaluation, metric_specs
from vdae_core.study.evaluation import ReferencePool, evaluate_samples
from vdae_core.study.metric_specs import METRIC_SPECS, MetricSpec, TABLE_METRICS, column_title, spec_of


def _circle(n, seed, radius=1.0):
    t = np.random.default_rng(seed).uniform(0, 2 * np.pi, n)
    return radius * np.c_[np.cos(t), np.sin(t)]


def test_off_data_is_one_percent_for_an_exact_sampler_and_everything_for_a_shifted_ring():
    R = _circle(2000, 0)
    exact = [off_data_share(_circle(1000, s), R) for s in range(1, 6)]
    # each point of an exact sample beats the reference's 99% gap with probability about 0.01 (a little more:
    # a point's nearest reference neighbour is one of n, not n - 1); 5 draws of 1,000 points
    assert 0.0 <= np.mean(exact) <= 0.03
    assert off_data_share(_circle(1000, 9, radius=1.2), R) > 0.99  # 0.2 off the ring: far beyond any data gap


def test_every_sample_metric_of_the_list_is_evaluated_beside_its_floor():
    ds = make_dataset(DataConfig(dataset="circle", n=600, seed=0))
    pool = ReferencePool(ds, DataConfig(dataset="circle", n=600, seed=0), seed=0)
    G = make_dataset(DataConfig(dataset="circle", n=400, seed=5)).X
    res = evaluate_samples(G, pool, n=400, reps=3, with_gw=False)
    wanted = {s.key for s in METRIC_SPECS if s.family in ("sample", "topology") and s.needs not in ("gw", "gw_paper")}
    assert wanted <= set(res["metrics"]) and "gw" not in res["metrics"]
    assert any(k.startswith("ks_") for k in res["metrics"])
    off = res["metrics"]["off_data"]
    assert not off["flagged"] and off["value"] <= 0.05  # an exact sample of the law is on the data


def test_a_new_metric_is_one_entry(monkeypatch):
    """Appending a spec with its compute makes evaluate report it with a floor, and the tables can title it."""
    spec = MetricSpec("spread", "spread", "lower", "sample", "exact samples", "Largest coordinate spread.",
                      "spread", lambda G, ctx: {"spread": float(np.ptp(G, axis=0).max())})
    monkeypatch.setattr(metric_specs, "METRIC_SPECS", METRIC_SPECS + (spec,))
    monkeypatch.setattr(metric_specs, "SPECS", {**metric_specs.SPECS, "spread": spec})
    monkeypatch.setattr(evaluation, "_FLOOR_CACHE", {})
    ds = make_dataset(DataConfig(dataset="circle", n=500, seed=0))
    pool = ReferencePool(ds, DataConfig(dataset="circle", n=500, seed=0), seed=0)
    G = 3.0 * make_dataset(DataConfig(dataset="circle", n=300, seed=5)).X  # a ring three times too wide
    m = evaluate_samples(G, pool, n=300, reps=3, with_gw=False, with_topology=False)["metrics"]["spread"]
    assert m["value"] == pytest.approx(3 * m["floor_mean"], rel=0.05) and m["flagged"]
    assert column_title("spread") == "spread (lower is better)"


def test_the_tables_and_titles_come_from_the_list():
    assert [k for k, _ in TABLE_METRICS] == [s.key for s in METRIC_SPECS if s.table]
    assert spec_of("ks_theta").family == "coordinate" and column_title("ks_theta") == "KS theta (lower is better)"
    assert spec_of("no_such_metric") is None
    assert {s.better for s in METRIC_SPECS} <= set(metric_specs.DIRECTION_WORDS)
