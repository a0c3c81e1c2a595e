"""Comparison tables: aggregation over seeds and a tiny end-to-end table."""
import numpy as np

from vdae_core.study.compare import aggregate, compare_table, markdown_table
from vdae_core.study.metric_specs import TABLE_METRICS


def test_aggregate_mean_and_std_over_seeds():
    rows = []
    for seed, g in enumerate([1.0, 2.0, 4.0]):
        rows.append({"dataset": "circle", "model": "vdae", "seed": seed, "gw": g, "gw_floor": 0.5, "mmd2": 0.1 * g,
                     "bilip_median": 1.0, "bilip_scale_free_median": 2.0})
    rows.append({"dataset": "circle", "model": "beta_vae", "seed": 0, "gw": 9.0, "mmd2": 1.0, "bilip_median": 3.0,
                 "bilip_scale_free_median": 4.0})
    agg = {(r["dataset"], r["model"]): r for r in aggregate(rows)}
    v = agg[("circle", "vdae")]
    assert v["seeds"] == 3
    assert np.isclose(v["gw"], 7 / 3) and np.isclose(v["gw_std"], np.std([1, 2, 4], ddof=1))
    assert agg[("circle", "beta_vae")]["gw_std"] == 0.0
    md = markdown_table(aggregate(rows))
    assert md.count("\n") == 4 and "2.333 ± 1.5 (floor 0.5)" in md


def test_compare_table_end_to_end():
    md = compare_table(["circle"], ["vdae", "beta_vae"], seeds=2, n_samples=100, steps_scale=0.02, n_points=200)
    table, note = md.split("\n\n", 1)
    lines = table.strip().splitlines()
    assert len(lines) == 4  # header, separator, one row per model
    assert all(t in lines[0] for _, t in TABLE_METRICS)
    assert "[paper 2.6 ± 1.3]" in lines[2] + lines[3] and "paper" in note  # Table 1's values, and how to read them
    assert any("| circle | vdae | 2 |" in l for l in lines) and any("| circle | beta_vae | 2 |" in l for l in lines)
    assert all(l.count("(floor ") == 9 for l in lines[2:])  # every sample metric beside its floor


def test_floor_table_shows_value_floor_and_flags():
    from vdae_core.study.compare import floor_table

    rows = [{"dataset": "circle", "model": "vdae", "seed": s, "memorisation": v, "memorisation_floor": 1.0,
             "memorisation_flagged": v < 0.9, "bilip_median": 1.2} for s, v in enumerate([0.7, 0.8, 0.95])]
    t = floor_table(rows).set_index("model")
    assert t.loc["vdae", "memorisation"] == "0.8167 ± 0.13 (floor 1) ⚑ 2/3"
    assert t.loc["vdae", "bilip_median"] == "1.2 ± 0"          # an encoder metric: no floor
    assert "gw" not in t.columns                                 # absent metrics are not shown
    one = floor_table(rows[:1]).set_index("model")
    assert one.loc["vdae", "memorisation"] == "0.7 (n = 1) (floor 1) ⚑ 1/1"  # one run: no "± 0"


def test_a_metric_not_measured_reads_as_a_dash_not_inf():
    from vdae_core.study.compare import mean_sd_text

    assert mean_sd_text(float("nan"), float("nan"), 3) == "—" and mean_sd_text(float("inf"), 0.0, 3) == "inf"
