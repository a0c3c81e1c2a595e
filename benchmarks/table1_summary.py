"""The prose summary of Table 1, generated from its JSON (so that no number in RESULTS is typed twice).

    python benchmarks/table1_summary.py --table docs/results/table1.json

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

    meta = json.load(open(json_path))
    rows = meta["rows"]
    by = defaultdict(list)
    for r in rows:
        by[(r["dataset"], r["model"])].append(r)
    out = [f"* {len(rows)} runs, wall time {meta['wall_s']:.0f} s ({meta['wall_s'] / 60:.1f} min) on two workers."]
    for d in dict.fromkeys(r["dataset"] for r in rows):
        models = [m for (dd, m) in by if dd == d]
        gw = {m: _stats(by[d, m], "gw") for m in models}
        order = sorted(models, key=lambda m: gw[m][0])
        floor = _stats(sum((by[d, m] for m in models), []), "gw_floor")[0]
        ranked = ", ".join(f"{m} {gw[m][0]:.2g} ± {gw[m][1]:.1g}" for m in order)
        line = f"* **{d}** — GW (robust), lowest first: {ranked} (floor {floor:.2g})."
        paper = PAPER_TABLE1.get(d)
        if paper and all("gw_paper" in r for m in models for r in by[d, m]):
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", required=True, help="Table 1's JSON (docs/results/table1.json)")
    print(table(ap.parse_args().table))


if __name__ == "__main__":
    main()
