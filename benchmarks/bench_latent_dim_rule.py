"""Issue 29, step 0: the latent dimension read off the data, and what the default VDAE does with it.

    python benchmarks/bench_latent_dim_rule.py [--log docs/bench_latent_dim_rule_log.jsonl] [--seeds 0,1,2]
        [--data "circle;torus;torus2.5,1@5"] [--dims auto,4,12] [--n 2000]
    python benchmarks/bench_latent_dim_rule.py --table docs/bench_latent_dim_rule_log.jsonl   # METHODS' table

For each dataset (built-in names, or ``torusR,r`` / ``torusR,r@m``: a torus of revolution with radii R, r
that the project has never seen, rotated at random into R^m and given as a point file, so that its held-out
split and every setting come from the file alone) and each seed, the default VDAE is trained with the
latent dimension of each ``--dims`` entry (``auto``: the data's rule, ``Dataset.latent_dim_choice``; an
integer: that D) and the studio's own topology audit (``topology_report``) reads the Betti numbers of the
data, the codes and the samples. One JSON line per run: the dataset, seed, D and the rule's reason, the
training seconds (2 torch threads), the Betti numbers and the H1 bottleneck distance beside its floor.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_common import append_log, machine_fields, read_log, start_busy, stop_busy  # noqa: E402


def source_of(spec: str, seed: int, folder: str) -> str:
    """The dataset a ``--data`` entry names: a built-in set's name as is, a ``torusR,r[@m]`` one's file."""
    return torus_file(spec, seed, folder) if spec.startswith("torus") and spec != "torus" else spec


def torus_file(spec: str, seed: int, folder: str) -> str:
    """``torusR,r`` or ``torusR,r@m``: 4,000 area-uniform points of that torus, rotated into R^m (default 5)."""
    from vdae_core.data.manifolds import torus

    radii, _, m = spec[len("torus"):].partition("@")
    R, r = (float(v) for v in radii.split(","))
    m = int(m or 5)
    X = torus(4000, seed=100 + seed, R=R, r=r).X.astype(np.float64)
    Q, _ = np.linalg.qr(np.random.default_rng(7).normal(size=(m, m)))
    X = np.hstack([X, np.zeros((len(X), m - 3))]) @ Q
    path = os.path.join(folder, f"torus_R{R:g}_r{r:g}_m{m}_s{seed}.npy")
    np.save(path, X.astype(np.float32))
    return path


def table(log_path: str) -> str:
    """The Markdown table of a log (docs/METHODS.md shows it; tests/test_diffusion_dimension.py checks they agree):
    one row per (data, D used) with the runs' seeds, Betti₁ of codes and samples and the H1 bottleneck beside
    its floor."""
    rows = read_log(log_path)
    rows = [r for r in rows if r.get("bench") == "latent_dim_rule"]
    groups = {}
    for r in rows:
        how = "data rule" if r["dims"] == "auto" else "set"
        groups.setdefault((r["data"], how, r["D"] if how == "set" else None), []).append(r)
    out = ["| data | D | seeds | data's loops | loops in codes | loops in samples | both loops kept | H1 bottleneck "
           "(floor) |", "|---|---|---|---|---|---|---|---|"]
    for (data, how, _), rs in groups.items():
        rs = sorted(rs, key=lambda r: r["seed"])
        kept = sum(r["betti"]["latent"][1] == r["betti"]["samples"][1] == r["betti"]["data"][1] for r in rs)
        ds = sorted({r["D"] for r in rs})
        D = (f"{ds[0]}" if len(ds) == 1 else f"{ds[0]}–{ds[-1]}") + (" (data rule)" if how == "data rule" else "")
        out.append(f"| {data} | {D} | {', '.join(str(r['seed']) for r in rs)} | "
                   f"{'/'.join(str(r['betti']['data'][1]) for r in rs)} | "
                   f"{'/'.join(str(r['betti']['latent'][1]) for r in rs)} | "
                   f"{'/'.join(str(r['betti']['samples'][1]) for r in rs)} | {kept}/{len(rs)} | "
                   + " / ".join(f"{r['h1_bottleneck']:.2f} ({r['h1_floor'][0]:.2f})" for r in rs) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", default=None, metavar="LOG", help="print the Markdown table of a log and stop")
    ap.add_argument("--busy", action="store_true", help="with --time-rule: a process spins on one core meanwhile")
    ap.add_argument("--time-rule", action="store_true", help="only time the rule itself on each dataset (2,000 "
                    "points, first call, nothing remembered) and log it")
    ap.add_argument("--log", default=None)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--data", default="circle;sphere;torus;bunny;torus2.5,1@5;torus2,1@5;torus3,0.6@6",
                    help="datasets separated by ';'")
    ap.add_argument("--dims", default="auto")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--set", default="{}", help="JSON overrides of the VDAE config")
    args = ap.parse_args()
    if args.table:
        print(table(args.table))
        return

    import torch

    from vdae_core.api import DataConfig, train_run
    from vdae_core.data import make_dataset
    from vdae_core.study.topology import topology_report

    torch.set_num_threads(2)
    folder = tempfile.mkdtemp(prefix="dimrule-")
    if args.time_rule:
        from vdae_core.geometry.diffusion_dimension import diffusion_dimension

        busy = start_busy() if args.busy else None
        for spec in (s for s in args.data.split(";") if s):
            for seed in (int(s) for s in args.seeds.split(",")):
                source = source_of(spec, seed, folder)
                X = make_dataset(DataConfig(dataset=source, n=args.n, seed=seed)).X
                t = time.perf_counter()
                choice = diffusion_dimension(X, seed=seed)
                row = {"bench": "latent_dim_rule_time", "data": spec, "seed": seed, "n": int(len(X)),
                       "D": int(choice.dim), "seconds": round(time.perf_counter() - t, 3),
                       "busy": busy is not None, **machine_fields()}
                print(json.dumps(row), flush=True)
                append_log(args.log, row)
        stop_busy(busy)
        return
    specs = [s for s in args.data.split(";") if s]
    for spec in specs:
        for seed in (int(s) for s in args.seeds.split(",")):
            source = source_of(spec, seed, folder)
            cfg = DataConfig(dataset=source, n=args.n if source == spec else 4000, seed=seed)
            ds = make_dataset(cfg)
            choice = ds.latent_dim_choice()
            for dim in args.dims.split(","):
                over = dict(json.loads(args.set))
                if dim != "auto":
                    over["latent_dim"] = int(dim)
                t = time.perf_counter()
                run = train_run("vdae", cfg, over, seed=seed, device="cpu", dataset=ds)
                secs = time.perf_counter() - t
                topo = topology_report(run, seed=0)
                row = {"bench": "latent_dim_rule", "data": spec, "seed": seed, "dims": dim,
                       "D": int(run.model.latent_dim), "rule_D": int(choice.dim), "reason": choice.reason,
                       "train_s": round(secs, 1), "overrides": over,
                       "betti": {c: (v["betti"] if v else None) for c, v in topo["clouds"].items()},
                       "h1_bottleneck": round(topo["distances"]["bottleneck"][1], 4),
                       "h1_floor": [round(v, 4) for v in topo["floor"]["bottleneck"][1]],
                       **machine_fields()}
                print(json.dumps({k: row[k] for k in ("data", "seed", "D", "rule_D", "train_s", "betti",
                                                      "h1_bottleneck", "h1_floor")}), flush=True)
                append_log(args.log, row)


if __name__ == "__main__":
    main()
