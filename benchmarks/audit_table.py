"""Issue 14: what the topology audit finds for every model of the Table 1 sweep on circle, torus and bunny.

    python benchmarks/audit_table.py --runs table1.runs [--seeds 0] [--log docs/audit_table_log.jsonl]

Reads the runs that ``python -m vdae_core compare ... --cache table1.runs`` trained (one folder per dataset,
model and seed) and, for each, the persistence report (H0 + H1: Betti numbers of data, codes and samples,
bottleneck distance of the samples' H1 diagram to the data's beside its floor), the tears and folds of its
encoder and its prior holes (share of prior codes in a hole, share decoded off the data, each with its floor),
with the time of each part. Prints a Markdown table; one JSON row per run goes to ``--log``. ``table(log)`` and ``seeds(log)`` render the
log's newest row of every (dataset, model, seed) for docs/RESULTS.md (checked by tests/test_docs_tables.py).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_common import append_log, newest_rows  # noqa: E402  (this script's folder is on sys.path)
from vdae_core.foundation.errors import UserInputError  # noqa: E402
from vdae_core.pipeline.runs import load_run  # noqa: E402
from vdae_core.study.topology import prior_hole_report, tear_report, topology_report  # noqa: E402


def share(h, key):
    """'12% (0% ± 0%)' or '–' for a model without the capability."""
    if h is None:
        return "–"
    m, sd = h[key + "_floor"]
    return f"{h[key]:.0%} ({m:.0%} ± {sd:.0%})"


HEAD = ("| dataset | model | Betti data | Betti codes | Betti samples | H1 bottleneck data–samples (floor) | "
        "torn edges | folded edges | prior codes in a hole (floor) | decoded off the data (floor) | audit time |")


def _fmt_betti(v):
    return "–" if v is None else str(tuple(v))


def line(row) -> str:
    """One run's row of the audit table."""
    b, t, h = row["betti"], row["tears"], row["holes"]
    fm, fs = row["h1_floor"]
    return (f"| {row['dataset']} | {row['model']} | {_fmt_betti(b['data'])} | {_fmt_betti(b['latent'])} | "
            f"{_fmt_betti(b['samples'])} | {row['h1_bottleneck']:.3g} ({fm:.3g} ± {fs:.2g}) | "
            f"{'–' if t is None else t['torn_edges']} | {'–' if t is None else t['folded_edges']} | "
            f"{share(h, 'hole_share')} | {share(h, 'off_share')} | {row['seconds']:.1f} s |")


def newest(log_path: str):
    """{(dataset, model, seed): the log's newest row for it} (a later row replaces an earlier one)."""
    return newest_rows(log_path)


def table(log_path: str) -> str:
    """The seed-0 audit of every (dataset, model) in the log, its newest rows."""
    rows = [r for (_, _, seed), r in newest(log_path).items() if seed == 0]
    return "\n".join([HEAD, "|---" * 11 + "|"] + [line(r) for r in rows])


def seeds(log_path: str) -> str:
    """Every seed of every (dataset, model): Betti numbers of the samples, the H1 bottleneck's mean and range,
    torn edges, prior codes in a hole and samples decoded off the data, seed by seed."""
    from collections import defaultdict

    by = defaultdict(list)
    for (d, m, _), r in newest(log_path).items():
        by[d, m].append(r)
    out = ["| dataset | model | seeds | Betti samples | H1 bottleneck mean (range; floor) | torn edges | "
           "prior codes in a hole | decoded off the data |", "|---" * 8 + "|"]
    for (d, m), rs in by.items():
        bn = [r["h1_bottleneck"] for r in rs]
        torn = ", ".join("–" if r["tears"] is None else str(r["tears"]["torn_edges"]) for r in rs)
        hole = ", ".join("–" if r["holes"] is None else f"{r['holes']['hole_share']:.0%}" for r in rs)
        off = ", ".join("–" if r["holes"] is None else f"{r['holes']['off_share']:.0%}" for r in rs)
        betti = " ".join(_fmt_betti(r["betti"]["samples"]).replace(" ", "") for r in rs)
        out.append(f"| {d} | {m} | {','.join(str(r['seed']) for r in rs)} | {betti} | {sum(bn) / len(bn):.3g} "
                   f"({min(bn):.3g}–{max(bn):.3g}; {rs[0]['h1_floor'][0]:.2g}) | {torn} | {hole} | {off} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--log", default=None)
    a = ap.parse_args()
    seeds = {f"s{s}" for s in a.seeds.split(",")}
    print(HEAD)
    print("|---" * 11 + "|")
    for folder in sorted(os.listdir(a.runs)):
        if folder.count("__") < 2:
            continue  # the sweep's own folders (.floors), not runs
        dataset, model, seed = folder.split("__")[:3]
        path = os.path.join(a.runs, folder)
        path = os.path.join(path, "run") if os.path.isdir(os.path.join(path, "run")) else path
        if seed not in seeds or not os.path.exists(os.path.join(path, "run.json")):
            continue  # another seed, or a row whose run was not kept
        run = load_run(path)
        t = time.perf_counter()
        rep = topology_report(run)
        t_topo = time.perf_counter() - t
        try:
            tears, _, _, _ = tear_report(run)
        except UserInputError:
            tears = None
        t_tears = time.perf_counter() - t - t_topo
        try:
            holes = prior_hole_report(run)[0]
            holes.pop("reference"), holes.pop("prior")
        except UserInputError:
            holes = None
        secs = time.perf_counter() - t
        b = {c: (v["betti"] if v else None) for c, v in rep["clouds"].items()}
        bn, (fm, fs) = rep["distances"]["bottleneck"][1], rep["floor"]["bottleneck"][1]
        row = {"dataset": dataset, "model": model, "seed": int(seed[1:]), "betti": b, "h1_bottleneck": bn,
               "h1_floor": [fm, fs], "tears": tears, "holes": holes, "seconds": round(secs, 1),
               "seconds_parts": {"topology": round(t_topo, 2), "tears": round(t_tears, 2),
                                 "holes": round(secs - t_topo - t_tears, 2)}, "date": time.strftime("%Y-%m-%d")}
        print(line(row), flush=True)
        append_log(a.log, row)


if __name__ == "__main__":
    main()
