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


def _rows(name):
    return json.load(open(os.path.join(ROOT, "docs", "results", name)))["rows"]


@pytest.fixture(scope="module")
def current():
    """Mean over seeds of every metric of the 2026-12-07 Table 1 and its extra rows: {(dataset, model): {key: mean}}."""
    acc = defaultdict(lambda: defaultdict(list))
    for r in _rows("table1.json") + _rows("table1_extra.json"):
        for k, v in r.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                acc[(r["dataset"], r["model"])][k].append(v)
        acc[(r["dataset"], r["model"])]["flags"].append(bool(r.get("memorisation_flagged")))
    return {g: {k: float(np.mean(v)) if k != "flags" else int(np.sum(v)) for k, v in d.items()} for g, d in acc.items()}


PAPER_FOUR = ("wgan_gp", "beta_vae", "svae", "vdae")


def order(current, dataset, key, models=PAPER_FOUR):
    return sorted((m for (d, m) in current if d == dataset and m in models), key=lambda m: current[dataset, m][key])


def test_reading_table_1_is_its_file(current):
    """The claims of RESULTS' "Reading Table 1" and "Extra rows" sections, against the result files."""
    c = current
    assert order(c, "circle", "gw")[:2] == ["svae", "vdae"]
    assert order(c, "circle", "coverage")[-1] == "vdae" and order(c, "circle", "coverage")[:2] == ["wgan_gp", "svae"]
    for key in ("precision", "density", "coverage"):  # VDAE at its floors, SVAE well below
        assert c["circle", "vdae"][key] > c["circle", "vdae"][key + "_floor"] - 0.02
        assert c["circle", "svae"][key] < c["circle", "svae"][key + "_floor"] - 0.1
    assert c["circle", "svae"]["off_data"] == 0
    assert [m for m in PAPER_FOUR if c["circle", m]["flags"]] == ["vdae"] and c["circle", "vdae"]["flags"] == 1
    assert 0.12 < c["circle", "wgan_gp"]["off_data"] < 0.17
    assert all(c["circle", m]["off_data"] <= 0.01 for m in ("beta_vae", "svae", "vdae"))
    assert c["circle", "wgan_gp"]["bottleneck_h1"] > 100 * c["circle", "wgan_gp"]["bottleneck_h1_floor"]
    # torus: VDAE lowest GW and the only one of seven with both loops on every seed
    assert order(c, "torus", "gw")[0] == "vdae"
    seven = {m for (d, m) in c if d == "torus"}
    assert len(seven) == 7
    assert [m for m in seven if c["torus", m]["betti1"] == 2] == ["vdae"]
    assert all(c["torus", m]["betti1"] == 0 for m in ("beta_vae", "svae", "wgan_gp"))
    # bunny: WGAN-GP lowest of all seven, VDAE highest of the paper's four (both units), ΔVAE no longer lowest
    assert order(c, "bunny", "gw", seven)[0] == "wgan_gp" and order(c, "bunny", "gw")[-1] == "vdae"
    assert c["bunny", "vdae"]["gw_paper"] > c["bunny", "beta_vae"]["gw_paper"]
    assert set(order(c, "bunny", "gw", seven)[1:3]) == {"two_stage_vae", "delta_vae"}
    # bi-Lipschitz: the VDAE's raw median is never the lowest; SVAE or the β-VAE is
    for d in ("circle", "torus", "bunny"):
        assert order(c, d, "bilip_median")[0] in ("svae", "beta_vae") and order(c, d, "bilip_median")[0] != "vdae"
    # extra rows
    circle7 = order(c, "circle", "gw", seven)
    assert circle7.index("er_vae") == circle7.index("vdae") + 1 and circle7[circle7.index("er_vae") + 1] == "two_stage_vae"
    assert c["circle", "delta_vae"]["gw"] > 10 * c["circle", "svae"]["gw"]
    assert c["torus", "er_vae"]["coverage"] < 0.01
    assert order(c, "torus", "gw", seven)[1] == "two_stage_vae" and c["torus", "two_stage_vae"]["betti1"] == 0


def test_the_time_paragraph_is_its_file():
    rows = _rows("table1.json")
    meta = json.load(open(os.path.join(ROOT, "docs", "results", "table1.json")))
    text = open(os.path.join(ROOT, "docs", "RESULTS.md")).read()
    assert f"**The grid took {meta['wall_s'] / 60:.1f} minutes" in text and meta["wall_s"] < 30 * 60
    train, ev = sum(r["train_s"] for r in rows), sum(r["eval_s"] for r in rows)
    assert 0.3 < ev / (train + ev) < 0.4  # "about a third"
    old = [r["train_s"] for r in json.load(open(os.path.join(ROOT, "docs", "results", "table1_20261128.json")))["rows"]
           if r["model"] == "wgan_gp"]
    new = [r["train_s"] for r in rows if r["model"] == "wgan_gp"]
    assert f"{min(old):.0f}–{max(old):.0f} s a run" in text
    lo, hi = min(old) / max(new), max(old) / min(new)
    assert f"factor of {lo:.1f}–{hi:.0f}" in text, (lo, hi)


def test_the_audit_section_is_its_log():
    """The claims of RESULTS' topology-audit section, against the newest audit of every run."""
    import sys

    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from audit_table import newest

    rows = newest(os.path.join(ROOT, "docs", "audit_table_log.jsonl"))
    by = defaultdict(list)
    for (d, m, _), r in rows.items():
        by[d, m].append(r)
    assert len(rows) == 105 and all(len(v) == 5 for v in by.values())
    # torus: only the VDAE's samples have two loops, on every seed, near the floor; its codes on two seeds of five
    assert all(r["betti"]["samples"][1] == 2 for r in by["torus", "vdae"])
    assert all(r["h1_bottleneck"] < r["h1_floor"][0] + 10 * r["h1_floor"][1] for r in by["torus", "vdae"])
    assert all(r["betti"]["samples"][1] <= 1 for (d, m), v in by.items() if d == "torus" and m != "vdae" for r in v)
    assert sum(r["betti"]["latent"][1] == 2 for r in by["torus", "vdae"]) == 2
    # circle: the β-VAE's 1-D latent tears and folds on every seed, its codes lose the loop, its samples keep one;
    # every other encoder keeps the loop in its codes without a tear
    b = by["circle", "beta_vae"]
    assert all(r["tears"]["torn_edges"] > 0 and r["tears"]["folded_edges"] > 0 for r in b)
    assert all(r["betti"]["latent"][1] == 0 and r["betti"]["samples"][1] >= 1 for r in b)
    for m in ("vdae", "svae", "er_vae", "two_stage_vae", "delta_vae"):
        assert all(r["tears"]["torn_edges"] == 0 and r["betti"]["latent"][1] >= 1 for r in by["circle", m]), m
    # bunny: tears by latent topology
    torn = {m: [r["tears"]["torn_edges"] for r in by["bunny", m]] for m in
            ("beta_vae", "er_vae", "svae", "delta_vae", "vdae", "two_stage_vae")}
    assert min(torn["beta_vae"]) > 0 and min(torn["er_vae"]) > max(torn["beta_vae"]) / 2
    assert max(torn["er_vae"]) == max(max(v) for v in torn.values())
    assert all(0 < t < 50 for m in ("svae", "delta_vae") for t in torn[m])
    assert torn["vdae"] == [0] * 5 and torn["two_stage_vae"] == [0] * 5
    # torus: loops lost without a tear (β-VAE, two-stage VAE)
    for m in ("beta_vae", "two_stage_vae"):
        assert all(r["betti"]["latent"][1] == 1 and r["tears"]["torn_edges"] == 0 and r["tears"]["folded_edges"] == 0
                   for r in by["torus", m]), m
    assert all(r["betti"]["latent"][1] == 1 for r in by["torus", "svae"])
    # prior holes: VDAE circle about a third in holes, none off; ER-VAE torus all off; two-stage about a tenth
    assert all(0.25 < r["holes"]["hole_share"] < 0.4 and r["holes"]["off_share"] == 0 for r in by["circle", "vdae"])
    assert all(r["holes"]["off_share"] == 1.0 for r in by["torus", "er_vae"])
    assert all(0.05 < r["holes"]["off_share"] < 0.16 for d in ("circle", "torus", "bunny")
               for r in by[d, "two_stage_vae"])


def test_the_learners_section_is_its_log():
    """RESULTS' comparison of manifold learners (issue 32), against docs/learner_table_log.jsonl."""
    rows = {}
    for line in open(os.path.join(ROOT, "docs", "learner_table_log.jsonl")):
        r = json.loads(line)
        rows[r["dataset"], r["model"], r["seed"]] = r
    by = defaultdict(list)
    for (d, m, _), r in rows.items():
        by[d, m].append(r)
    same = lambda r: r["betti_codes"] == r["betti_data"]  # noqa: E731
    four = ("circle", "torus", "swiss_roll_hole", "bunny")
    # the topological autoencoder: the data's Betti numbers, no tear, the lowest RTD of the learnt maps (not PCA)
    for d in four:
        assert all(same(r) and r["torn_edges"] == 0 for r in by[d, "topo_ae"]), d
        rtd = {m: np.mean([r["rtd"] for r in v]) for (dd, m), v in by.items() if dd == d and m != "pca"}
        assert sorted(rtd, key=rtd.get)[: 2 if d == "circle" else 1][-1] == "topo_ae", (d, rtd)
        assert np.mean([r["rtd"] for r in by[d, "pca"]]) < 1e-3  # the identity where D equals the data's dimension
    circle = {m: np.mean([r["rtd"] for r in v]) for (dd, m), v in by.items() if dd == "circle"}
    assert sorted(circle, key=circle.get)[:2] == ["pca", "isomap"]
    assert not any(same(r) for r in by["turntable", "topo_ae"])
    # UMAP tears everywhere and splits its codes; trust/continuity stay near 1
    for d in four + ("turntable",):
        assert sum(r["torn_edges"] > 0 for r in by[d, "umap"]) >= (2 if d == "turntable" else 3), d
        assert all(r["trustworthiness"] > 0.99 and r["continuity"] > 0.99 for r in by[d, "umap"])
    for d in ("circle", "bunny", "turntable"):
        assert all(r["betti_codes"][0] > 1 for r in by[d, "umap"]), d
    for d in ("torus", "swiss_roll_hole"):
        assert all(r["betti_codes"][1] > r["betti_data"][1] for r in by[d, "umap"]), d
    # t-SNE: no tear anywhere, an extra loop on the circle on every seed
    assert all(r["torn_edges"] == 0 for (d, m), v in by.items() if m == "tsne" for r in v)
    assert all(r["betti_codes"] == [1, 2] for r in by["circle", "tsne"])
    # the VDAE: a loop lost on the torus and the swiss roll's hole, folds there; the others kept
    for d in ("torus", "swiss_roll_hole"):
        assert all(r["betti_codes"][1] == r["betti_data"][1] - 1 for r in by[d, "vdae"]), d
    assert all(r["folded_edges"] > 0 for r in by["swiss_roll_hole", "vdae"])
    assert all(same(r) for d in ("circle", "bunny", "turntable") for r in by[d, "vdae"])
    torus = {m: np.mean([r["rtd"] for r in v]) for (d, m), v in by.items() if d == "torus"}
    assert max(torus, key=torus.get) == "vdae"
    # the exact diffusion map (k = 20) loses a loop exactly where the VDAE's codes do; at k = 10 (the log's older
    # row) it cut the circle into 3 pieces
    for d in ("circle", "torus", "swiss_roll_hole", "bunny", "turntable"):
        dm, v = by[d, "diffusion_map"][0], by[d, "vdae"][0]
        assert (dm["betti_codes"][1] < dm["betti_data"][1]) == (v["betti_codes"][1] < v["betti_data"][1]), d
    first = [json.loads(line) for line in open(os.path.join(ROOT, "docs", "learner_table_log.jsonl"))]
    k10 = next(r for r in first if r["dataset"] == "circle" and r["model"] == "diffusion_map")
    assert k10["torn_edges"] == 125 and k10["betti_codes"][0] == 3
    # PHATE folds the circle (the loop lost) on every seed, loses the torus's second loop, keeps the bunny
    assert all(r["folded_edges"] > 1000 and r["betti_codes"][1] == 0 for r in by["circle", "phate"])
    assert all(r["betti_codes"][1] == 1 for r in by["torus", "phate"]) and all(same(r) for r in by["bunny", "phate"])
    # Isomap loses a loop on the torus, the swiss roll and the turntable
    for d in ("torus", "swiss_roll_hole", "turntable"):
        assert by[d, "isomap"][0]["betti_codes"][1] < by[d, "isomap"][0]["betti_data"][1], d
    assert all(r["torn_edges"] > 0 and r["betti_codes"][1] == 0 for r in by["circle", "beta_vae"])
