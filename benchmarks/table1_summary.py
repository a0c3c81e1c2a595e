"""The prose summary of Table 1, generated from its JSON (so that no number in RESULTS is typed twice).

    python benchmarks/table1_summary.py --table docs/results/table1.json [--part summary|rows|bilip|times|seven]

Per dataset: the models ranked by the headline (robust) GW with mean ± sd over seeds and the floor, the same
ranking in the paper's max-normalised unit beside the paper's own order, and coverage, memorisation and the
loops of the samples against the data's. ``docs/RESULTS.md`` holds the output between its
``<!-- table1_summary table -->`` markers; ``tests/test_docs_tables.py`` checks it is current.
"""
import argparse
import json
import os
import sys
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _stats(rows, key):
    vals = [float(r[key]) for r in rows if key in r and r[key] is not None]
    return (float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0) if vals else (None, None)


def table(json_path: str) -> str:
    from vdae_core.study.compare import PAPER_TABLE1

    meta, by = _groups(json_path)
    rows = meta["rows"]
    out = [f"* {len(rows)} runs, wall time {meta['wall_s']:.0f} s ({meta['wall_s'] / 60:.1f} min) on two workers."]
    in_paper = lambda d, m: m in PAPER_TABLE1.get(d, {})  # noqa: E731
    for d in dict.fromkeys(r["dataset"] for r in rows):
        models = [m for (dd, m) in by if dd == d]
        gw = {m: _stats(by[d, m], "gw") for m in models}
        order = sorted(models, key=lambda m: gw[m][0])
        floor = _stats(sum((by[d, m] for m in models), []), "gw_floor")[0]
        ranked = ", ".join(f"{m} {gw[m][0]:.2g} ± {gw[m][1]:.1g}" for m in order)
        line = f"* **{d}** — GW (robust), lowest first: {ranked} (floor {floor:.2g})."
        paper = PAPER_TABLE1.get(d)
        if paper and any(in_paper(d, m) for m in models) and all("gw_paper" in r for m in models for r in by[d, m]):
            gp = {m: _stats(by[d, m], "gw_paper")[0] for m in models}
            ours = " < ".join(sorted(models, key=lambda m: gp[m]))
            theirs = " < ".join(sorted((m for m in models if m in paper), key=lambda m: paper[m]["gw"]))
            line += f" In the paper's max-normalised unit: {ours}; the paper's own order: {theirs}."
        cov = ", ".join(f"{m} {_stats(by[d, m], 'coverage')[0]:.2f}" for m in order)
        mem = ", ".join(f"{m} {_stats(by[d, m], 'memorisation')[0]:.2f}" for m in order)
        data_loops = int(round(_stats(by[d, order[0]], "betti1_floor")[0]))
        loops = ", ".join(f"{m} {_stats(by[d, m], 'betti1')[0]:.1f}" for m in order)
        line += (f" Coverage: {cov}. Memorisation (≈ 1 sound): {mem}. Loops in the samples (data: {data_loops}): "
                 f"{loops}.")
        out.append(line)
    return "\n".join(out)


def _groups(json_path: str):
    meta = json.load(open(json_path))
    by = defaultdict(list)
    for r in meta["rows"]:
        by[(r["dataset"], r["model"])].append(r)
    return meta, by


def rows(json_path: str) -> str:
    """The table's Markdown rows (mean ± sd over seeds, floors, the paper's values in brackets), as
    ``compare`` wrote them beside the JSON, without the note under them."""
    from vdae_core.study.compare import PAPER_TABLE1, aggregate, markdown_table

    return markdown_table(aggregate(json.load(open(json_path))["rows"]), PAPER_TABLE1).split("\n\n")[0].rstrip("\n")


def bilip(json_path: str) -> str:
    """Per dataset, the models by their median raw bi-Lipschitz constant (the paper's definition), lowest
    first, the paper's value beside each, then the scale-free constant in the same order."""
    from vdae_core.study.compare import PAPER_TABLE1

    _, by = _groups(json_path)
    out = []
    for d in dict.fromkeys(d for d, _ in by):
        models = [m for (dd, m) in by if dd == d]
        raw = {m: _stats(by[d, m], "bilip_median")[0] for m in models}
        order = sorted(models, key=lambda m: raw[m])
        paper = PAPER_TABLE1.get(d, {})
        cells = ", ".join(f"{m} {raw[m]:.2f}" + (f" [paper {paper[m]['bilip']:g}]" if m in paper else "")
                          for m in order)
        free = ", ".join(f"{m} {_stats(by[d, m], 'bilip_scale_free_median')[0]:.2f}" for m in order)
        out.append(f"* **{d}** — raw median, lowest first: {cells}; scale-free: {free}.")
    return "\n".join(out)


def times(json_path: str) -> str:
    """Where the runs' time goes: per model, training and evaluation CPU-seconds summed over its runs (each
    job's wall time on its own worker) and the range of one run's training time; the grid's wall time."""
    meta, by = _groups(json_path)
    models = list(dict.fromkeys(m for _, m in by))
    lines = ["| model | runs | training, CPU-s | training per run, s | evaluation, CPU-s | share of the grid |",
             "|---|---|---|---|---|---|"]
    total = sum(float(r["train_s"]) + float(r["eval_s"]) for g in by.values() for r in g)
    for m in sorted(models, key=lambda m: -sum(float(r["train_s"]) for (_, mm), g in by.items() if mm == m
                                               for r in g)):
        rs = [r for (_, mm), g in by.items() if mm == m for r in g]
        tr = [float(r["train_s"]) for r in rs]
        ev = sum(float(r["eval_s"]) for r in rs)
        lines.append(f"| {m} | {len(rs)} | {sum(tr):,.0f} | {min(tr):.0f}–{max(tr):.0f} | {ev:,.0f} | "
                     f"{(sum(tr) + ev) / total:.0%} |")
    lines.append(f"| all | {sum(len(g) for g in by.values())} | "
                 f"{sum(float(r['train_s']) for g in by.values() for r in g):,.0f} | | "
                 f"{sum(float(r['eval_s']) for g in by.values() for r in g):,.0f} | wall {meta['wall_s']:,.0f} s |")
    return "\n".join(lines)


def seven(json_path: str) -> str:
    """Every generative model of Table 1 and its extra rows (``table1_extra.json`` beside ``json_path``) ranked
    together per dataset by the headline GW, with the loops of their samples against the data's."""
    extra = os.path.join(os.path.dirname(json_path), "table1_extra.json")
    by = {**_groups(json_path)[1], **_groups(extra)[1]}  # the two files share no (dataset, model)
    out = []
    for d in dict.fromkeys(d for d, _ in by):
        models = [m for (dd, m) in by if dd == d]
        gw = {m: _stats(by[d, m], "gw") for m in models}
        order = sorted(models, key=lambda m: gw[m][0])
        data_loops = int(round(_stats(by[d, order[0]], "betti1_floor")[0]))
        keep = [m for m in order if all(int(r["betti1"]) == data_loops for r in by[d, m])]
        out.append(f"* **{d}** — all {len(models)} by GW (robust), lowest first: "
                   + ", ".join(f"{m} {gw[m][0]:.2g}" for m in order)
                   + f". Samples with the data's {data_loops} loop{'s' * (data_loops != 1)} on every seed: "
                   + (", ".join(keep) if keep else "none") + ".")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", required=True, help="Table 1's JSON (docs/results/table1.json)")
    ap.add_argument("--part", choices=("summary", "rows", "bilip", "times", "seven"), default="summary")
    a = ap.parse_args()
    print({"summary": table, "rows": rows, "bilip": bilip, "times": times, "seven": seven}[a.part](a.table))


if __name__ == "__main__":
    main()
