"""docs/RESULTS.md's rankings, checked against the result file they describe (no claim outlives a rerun)."""
import json
import os
from collections import defaultdict

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def means():
    rows = json.load(open(os.path.join(ROOT, "docs", "results", "table1_20261128.json")))["rows"]
    acc = defaultdict(list)
    for r in rows:
        acc[(r["dataset"], r["model"], "gw")].append(r["gw"])
        acc[(r["dataset"], r["model"], "bilip")].append(r["bilip_median"])
    return {k: float(np.mean(v)) for k, v in acc.items()}


def ranking(means, dataset, metric):
    got = sorted((v, m) for (d, m, k), v in means.items() if d == dataset and k == metric)
    return [m for _, m in got]


def test_the_previous_runs_rankings_in_results_are_its_file(means):
    """The 2026-11-28 run's rankings the analysis sections rely on (former baselines, max-normalised GW)."""
    assert ranking(means, "torus", "gw")[0] == "vdae"
    assert ranking(means, "circle", "gw")[:2] == ["svae", "vdae"]
    assert ranking(means, "bunny", "gw")[0] == "wgan_gp" and ranking(means, "bunny", "gw")[2] == "vdae"
    for d in ("circle", "torus", "bunny"):
        assert ranking(means, d, "bilip")[0] == "svae" and ranking(means, d, "bilip")[2] == "vdae", d


def test_the_fair_baseline_paragraph_is_its_log():
    """RESULTS' torus sentence: the former dimensions' deficits against the rule's picks (sweep log)."""
    import sys

    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from sweep_beta import deficit
    from sweep_latent_dims import choose

    rows = [json.loads(line) for line in open(os.path.join(ROOT, "docs", "sweep_latent_dims_log.jsonl"))]
    score = {(r["model"], r["dim"]): deficit(r) for r in rows if r["dataset"] == "torus"}
    picks = choose(rows)
    pick = lambda m, f="latent_dim": picks[m]["torus"][f]  # noqa: E731
    former = {"beta_vae": 2, "wgan_gp": 12, "svae": 1}  # Table 1's: the 2-D prior, the VDAE's D, S¹
    text = open(os.path.join(ROOT, "docs", "RESULTS.md")).read()
    said = (f"from {score['beta_vae', former['beta_vae']]:.2f} (β-VAE), {score['wgan_gp', former['wgan_gp']]:.2f} "
            f"(WGAN-GP)\nand {score['svae', former['svae']]:.1f} (SVAE) to {score['beta_vae', pick('beta_vae')]:.2f}, "
            f"{score['wgan_gp', pick('wgan_gp')]:.2f} and {score['svae', pick('svae', 'latent_manifold_dim')]:.2f}, "
            f"against the VDAE's {score['vdae', pick('vdae')]:.2f}")
    assert said in text, said
