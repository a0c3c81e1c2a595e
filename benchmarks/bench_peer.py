"""The studio's VDAE beside the public PyTorch SpectralNet package on the same data: training time and accuracy.

    python benchmarks/bench_peer.py [--datasets circle,sphere,torus] [--n N] [--seeds 0] [--repeats 2]
        [--studio-set KEY=VALUE ...] [--preset live] [--busy] [--warm] [--log FILE]

Run it with ``PYTHONPATH`` at the repository root and, on a small machine, ``OMP_WAIT_POLICY=PASSIVE``.

What it measures
----------------
For each dataset (circle n=2000, sphere n=3000, torus n=3000 from ``vdae_core.api.make_dataset``) and seed:

- studio: wall time of ``train_run("vdae", ...)`` — the VDAE's whole training, spectral and variational
  phases (the data are built before the clock starts) — with its phase seconds and why each phase ended;
- peer: wall time of the SpectralNet package's training (``SpectralReduction.fit_transform`` is ``_fit``
  then ``_transform``; the table's time is ``_fit``, the training; the JSON also has the embedding step,
  which includes the package's own k-means);
- accuracy of each side's embedding of all n points: mean and smallest canonical correlation (CC) with the
  exact diffusion map of all n points (``diffusion_map``, k = the VDAE's ``knn``, D = the VDAE's latent
  dimension), computed once per dataset in the parent process.

The table gives, per dataset, the median time of each side over its jobs, the ratio studio / peer, and
each side's CC (mean over jobs of the per-job mean; smallest per-job minimum).

The peer
--------
The public package ``spectralnet`` 1.1.0 (PyTorch). This script installs nothing; install it with

    pip install --no-deps spectralnet==1.1.0 annoy munkres matplotlib

Without it only the studio side runs. The peer runs with the package's defaults, except the width of the
last layer of ``spectral_hiddens``, which the package requires to equal ``n_components`` (its default
``[1024, 1024, 512, 10]`` becomes ``[1024, 1024, 512, D + 1]``). Its randomness (weights, ``random_split``,
batch order, k-means) comes from the global generators, which the child seeds with the job's seed.

Fairness
--------
- The peer trains on 90% of the points (its ``random_split``; the other 10% only validate) and is then
  applied to all n points; the studio trains on all n. Both embeddings are scored on all n points.
- The peer is asked for D + 1 components: like any Laplacian eigenmap its output keeps the trivial
  (constant) eigenvector, in no fixed column and mixed with the others (its output is orthonormalised by a
  QR of the raw network output, without centring). We keep the D-dimensional subspace of the peer's output
  span orthogonal to the constant vector: with Y (n, D+1) and s = Yᵀ1 its column sums, Y_D = Y B where the
  columns of B (D+1, D) are an orthonormal basis of s's complement. Y_D's columns have zero mean, and its
  span is span(Y) less the direction of span(Y) closest to the constant (the projection of 1 onto span(Y)).
  Canonical correlations are invariant to invertible linear maps of either side, so CC(Y_D, exact DM) does
  not depend on which basis the package returns: it is the fair figure. How nearly span(Y) holds the
  constant is reported as ``peer_const_cos`` = |P_Y 1| / |1| (1: exactly).
- For the record the table also gives CC of all D + 1 columns against the D exact coordinates
  (``canonical_correlations`` centres both sides and returns min(D, D+1) = D correlations). It is an upper
  bound of the fair figure: the extra column adds a free direction.
- Every measured job runs in a fresh Python process (this script with ``--job``), alternating studio,
  peer, studio, peer, ... (``--repeats`` pairs per dataset and seed), so neither side inherits the other's
  warm caches and slow drifts of the machine hit both. The children inherit the parent's environment, so
  both sides run with the same thread settings (printed: torch's intra-op and inter-op threads,
  ``OMP_WAIT_POLICY``); both run on the CPU (``CUDA_VISIBLE_DEVICES`` is emptied for the children, since the
  package picks CUDA whenever it sees it).
- ``--busy`` spins one core in a background process for the whole benchmark (a loaded machine).

``--log FILE`` appends one JSON line per job and one per dataset summary, with the machine (CPU model,
cores, torch version, threads), the date and the 1-minute load average before each job.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench_common import append_log, cpu_model, start_busy, stop_busy  # noqa: E402  (this script's folder is on sys.path)

SIZES = {"circle": 2000, "sphere": 3000, "torus": 3000}
PEER_VERSION = "1.1.0"
INSTALL_LINE = f"pip install --no-deps spectralnet=={PEER_VERSION} annoy munkres matplotlib"
PEER_HIDDENS = [1024, 1024, 512]  # the package's default spectral_hiddens, less its last layer (n_components)


# -- machine ------------------------------------------------------------------------------------------------
def thread_settings() -> dict:
    """Torch's thread counts and the OpenMP wait policy of this process."""
    import torch

    return {"torch_threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", ""),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "")}


def machine() -> dict:
    """The machine and software the benchmark runs on."""
    import torch

    return {"cpu": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
            "python": platform.python_version(), "peer": peer_version(), **thread_settings()}


def peer_version() -> str | None:
    """The installed spectralnet's version, None when it does not import."""
    try:
        import spectralnet  # noqa: F401
        from importlib.metadata import version
    except Exception:  # any failure to import counts as "not installed"
        return None
    try:
        return version("spectralnet")
    except Exception:
        return "unknown"


# -- embeddings and scores (shared by parent and children) ---------------------------------------------------
def drop_constant(Y: np.ndarray) -> tuple:
    """The D-dim subspace of span(Y) (Y: n × (D+1)) orthogonal to the constant vector, and how nearly span(Y)
    holds the constant.

    Returns
    -------
    Y_D : ndarray (n, D)
        ``Y @ B`` with B an orthonormal basis of the complement of Y's column sums: zero-mean columns.
    const_cos : float
        |P_Y 1| / |1|, the cosine between the constant vector and span(Y).
    """
    Y = np.asarray(Y, dtype=np.float64)
    ones = np.ones(len(Y))
    s = Y.T @ ones
    _, _, vt = np.linalg.svd(s[None, :])  # vt[0] ∥ s, vt[1:] spans its complement
    fit = Y @ np.linalg.lstsq(Y, ones, rcond=None)[0]
    return Y @ vt[1:].T, float(np.linalg.norm(fit) / np.sqrt(len(Y)))


def cc_summary(A: np.ndarray, ref: np.ndarray) -> dict:
    """Mean and smallest canonical correlation of embedding A with the reference coordinates."""
    from vdae_core.api import canonical_correlations

    cc = canonical_correlations(np.asarray(A, dtype=np.float64), ref)
    return {"cc_mean": float(cc.mean()), "cc_min": float(cc.min()), "cc": [round(float(c), 6) for c in cc]}


# -- the jobs (each runs in a fresh child process) -----------------------------------------------------------
def load_case(spec: dict):
    """The job's dataset (rebuilt, checked against the parent's points) and the exact DM coordinates."""
    from vdae_core.api import DataConfig, make_dataset

    dc = DataConfig(dataset=spec["dataset"], n=spec["n"], seed=spec["seed"])
    ds = make_dataset(dc)
    ref = np.load(spec["ref"])
    if not np.array_equal(ds.X, ref["X"]):
        raise SystemExit(f"{spec['dataset']}: the child's data differ from the parent's")
    return dc, ds, ref["coords"]


def studio_job(spec: dict) -> dict:
    """Train the VDAE once (timed: ``train_run``), score ψ of all points against the exact DM."""
    from vdae_core.api import train_run

    dc, ds, coords = load_case(spec)
    t = time.perf_counter()
    run = train_run("vdae", dc, dict(spec["overrides"]), seed=spec["seed"], device="cpu", dataset=ds)
    train_s = time.perf_counter() - t
    if run.model.latent_dim != spec["D"]:
        raise SystemExit(f"the VDAE chose D={run.model.latent_dim}, the parent expected {spec['D']}")
    hist = run.history
    return {"train_s": train_s, "train_points": int(run.dataset.n),
            "phase_s": {k: round(float(v), 3) for k, v in hist.phase_seconds.items()},
            "stop_reasons": dict(getattr(hist, "stop_reasons", {}) or {}),
            "message": getattr(hist, "message", ""), "stopped_early": bool(getattr(hist, "stopped_early", False)),
            **cc_summary(run.model.encode(ds.X), coords)}


def seed_globals(seed: int) -> None:
    """Seed the global generators the peer package draws from (torch, numpy, random)."""
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def peer_job(spec: dict) -> dict:
    """Train the package's SpectralReduction with D+1 components (timed: its fit), embed all points, score."""
    import torch
    from spectralnet import SpectralReduction

    _, ds, coords = load_case(spec)
    D = spec["D"]
    X = torch.as_tensor(np.asarray(ds.X), dtype=torch.float32)
    seed_globals(spec["seed"])
    red = SpectralReduction(n_components=D + 1, spectral_hiddens=PEER_HIDDENS + [D + 1])
    t = time.perf_counter()
    red._fit(X, None)  # fit_transform(X) is _fit(X, y) then _transform(X)
    train_s = time.perf_counter() - t
    t = time.perf_counter()
    Y = np.asarray(red._transform(X), dtype=np.float64)
    embed_s = time.perf_counter() - t
    Y_D, const_cos = drop_constant(Y)
    full = cc_summary(Y, coords)
    return {"train_s": train_s, "embed_s": embed_s, "fit_transform_s": train_s + embed_s,
            "train_points": int(0.9 * len(X)), "output_shape": list(Y.shape), "peer_const_cos": const_cos,
            **cc_summary(Y_D, coords), "cc_all_mean": full["cc_mean"], "cc_all_min": full["cc_min"]}


def child(spec: dict) -> dict:
    """Run one job (``spec['side']`` is "studio" or "peer") and return its row with the thread settings.

    With ``spec['warm']`` one throwaway optimiser is built before the job, on both sides alike: torch.optim
    imports torch._dynamo on the first optimiser a process builds (2.1 s on the 2-core machine), a one-time
    cost that a running app has already paid."""
    if spec.get("warm"):
        import torch

        torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
    row = (studio_job if spec["side"] == "studio" else peer_job)(spec)
    return {**row, **thread_settings()}


# -- the parent ----------------------------------------------------------------------------------------------
def studio_overrides(preset: str | None, pairs: list) -> dict:
    """The VDAE config overrides: a named preset (if any), then ``--studio-set`` pairs on top."""
    from vdae_core.cli import parse_overrides
    from vdae_core.pipeline.presets import compose

    out = dict(compose("vdae", preset)) if preset else {}
    out.update(parse_overrides(pairs))
    return out


def prepare_case(name: str, n: int, seed: int, overrides: dict, folder: str) -> dict:
    """Build the data, read D and knn from the VDAE these overrides build, compute the exact DM once; the
    points and coordinates go to an .npz the children read. Returns the case's description."""
    from vdae_core.api import DataConfig, build_model, diffusion_map, make_dataset

    ds = make_dataset(DataConfig(dataset=name, n=n, seed=seed))
    model = build_model("vdae", dict(overrides, device="cpu"), dataset=ds, seed=seed)
    D, knn = int(model.latent_dim), int(model.config.knn)
    dm = diffusion_map(ds.X, D, k=knn)
    path = os.path.join(folder, f"{name}_{n}_{seed}.npz")
    np.savez(path, X=ds.X, coords=dm.coords)
    return {"dataset": name, "n": n, "seed": seed, "D": D, "knn": knn, "ref": path, "exact_dm_s": dm.seconds}


def run_child(spec: dict) -> dict:
    """One job in a fresh process of this script; its JSON row is the last line of its stdout."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH", "")) if p)
    load = os.getloadavg()[0]
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--job", json.dumps(spec)],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{spec['side']} job on {spec['dataset']} failed:\n{out.stderr[-3000:]}")
    row = json.loads(out.stdout.strip().splitlines()[-1])
    return {**{k: v for k, v in spec.items() if k != "ref"}, **row, "load_before": round(load, 2),
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def job_line(r: dict) -> str:
    """One progress line per job."""
    extra = (f"phases {r['phase_s']}" if r["side"] == "studio"
             else f"output {tuple(r['output_shape'])}, const cos {r['peer_const_cos']:.4f}, "
                  f"all D+1 CC {r['cc_all_mean']:.4f}")
    return (f"  {r['dataset']} seed {r['seed']} #{r['repeat']} {r['side']:6s} {r['train_s']:7.1f} s  "
            f"CC {r['cc_mean']:.4f} (min {r['cc_min']:.4f})  {extra}  [threads {r['torch_threads']}/"
            f"{r['interop_threads']}, OMP_WAIT_POLICY={r['OMP_WAIT_POLICY'] or '-'}, load {r['load_before']}]")


def summarise(case: dict, rows: list) -> dict:
    """Per dataset: each side's median time and CC, and the ratio studio / peer."""
    out = {"dataset": case["dataset"], "n": case["n"], "D": case["D"], "exact_dm_s": case["exact_dm_s"]}
    for side in ("studio", "peer"):
        rs = [r for r in rows if r["side"] == side]
        if not rs:
            continue
        out[side] = {"jobs": len(rs), "median_s": statistics.median(r["train_s"] for r in rs),
                     "cc_mean": float(np.mean([r["cc_mean"] for r in rs])),
                     "cc_min": float(min(r["cc_min"] for r in rs))}
        if side == "studio":
            phases = list(dict.fromkeys(k for r in rs for k in r["phase_s"]))  # in training order
            out[side]["median_phase_s"] = {k: statistics.median(r["phase_s"].get(k, 0.0) for r in rs)
                                           for k in phases}
        else:
            out[side]["cc_all_mean"] = float(np.mean([r["cc_all_mean"] for r in rs]))
            out[side]["cc_all_min"] = float(min(r["cc_all_min"] for r in rs))
    if "studio" in out and "peer" in out:
        out["ratio"] = out["studio"]["median_s"] / out["peer"]["median_s"]
    return out


def table(summaries: list) -> str:
    """The Markdown table of the per-dataset summaries."""
    lines = ["| dataset | n | D | studio s (phases) | peer s | studio / peer | studio CC mean (min) | "
             "peer CC, D dims, mean (min) | peer CC, all D+1, mean (min) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        st, pe = s.get("studio"), s.get("peer")
        phases = " / ".join(f"{k} {v:.1f}" for k, v in st["median_phase_s"].items())
        cells = [s["dataset"], str(s["n"]), str(s["D"]), f"{st['median_s']:.1f} ({phases})",
                 f"{pe['median_s']:.1f}" if pe else "–", f"{s['ratio']:.2f}" if pe else "–",
                 f"{st['cc_mean']:.4f} ({st['cc_min']:.4f})",
                 f"{pe['cc_mean']:.4f} ({pe['cc_min']:.4f})" if pe else "–",
                 f"{pe['cc_all_mean']:.4f} ({pe['cc_all_min']:.4f})" if pe else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bench(a: argparse.Namespace, with_peer: bool) -> list:
    """Run every case's alternating jobs; print a line per job; return the per-dataset summaries."""
    overrides = studio_overrides(a.preset, a.studio_set)
    info = machine()
    print(f"Machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']}, {info['torch_threads']} threads "
          f"(inter-op {info['interop_threads']}), OMP_WAIT_POLICY={info['OMP_WAIT_POLICY'] or '-'}, "
          f"Python {info['python']}, spectralnet {info['peer'] or 'not installed'}, busy core: {a.busy}")
    print(f"Studio overrides: {overrides or 'none (defaults)'}", flush=True)
    sides = ["studio", "peer"] if with_peer else ["studio"]
    summaries = []
    with tempfile.TemporaryDirectory(prefix="bench_peer_") as folder:
        for name in a.datasets.split(","):
            n = a.n or SIZES.get(name, 2000)
            rows, case = [], None
            for seed in [int(s) for s in a.seeds.split(",")]:
                case = prepare_case(name, n, seed, overrides, folder)
                print(f"{name} n={n} seed {seed}: D={case['D']}, exact DM (k={case['knn']}) "
                      f"{case['exact_dm_s']:.2f} s", flush=True)
                for rep in range(a.repeats):
                    for side in sides:
                        spec = {**case, "side": side, "repeat": rep, "overrides": overrides, "warm": a.warm}
                        r = run_child(spec)
                        print(job_line(r), flush=True)
                        append_log(a.log, {"kind": "job", "machine": info, "busy": a.busy, **r})
                        rows.append(r)
            summaries.append(summarise(case, rows))
            append_log(a.log, {"kind": "summary", "machine": info, "busy": a.busy, "overrides": overrides,
                               "seeds": a.seeds, "repeats": a.repeats,
                               "date": time.strftime("%Y-%m-%d %H:%M:%S"), **summaries[-1]})
    return summaries


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--datasets", default="circle,sphere,torus")
    ap.add_argument("--n", type=int, default=None, help="points of every dataset (default: circle 2000, "
                                                         "sphere 3000, torus 3000)")
    ap.add_argument("--seeds", default="0", help="comma-separated data and training seeds")
    ap.add_argument("--repeats", type=int, default=2, help="studio/peer job pairs per dataset and seed")
    ap.add_argument("--studio-set", action="append", default=[], metavar="KEY=VALUE",
                    help="a VDAE config override (repeatable), e.g. --studio-set vae_steps=500")
    ap.add_argument("--preset", default=None, help="a named VDAE preset under the overrides (e.g. live)")
    ap.add_argument("--busy", action="store_true", help="spin one core in the background throughout")
    ap.add_argument("--warm", action="store_true", help="both sides' processes build one optimiser before the clock "
                                                        "starts (the one-time torch._dynamo import, ~2 s, paid)")
    ap.add_argument("--log", default=None, help="append JSON lines (one per job and per dataset) to this file")
    return ap.parse_args(argv)


def main(argv=None) -> None:
    a = parse_args(argv)
    if a.job:
        print(json.dumps(child(json.loads(a.job))), flush=True)
        return
    with_peer = peer_version() is not None
    if not with_peer:
        print(f"spectralnet does not import: only the studio side runs. Install the peer with\n    {INSTALL_LINE}")
    busy = start_busy() if a.busy else None
    try:
        summaries = bench(a, with_peer)
    finally:
        stop_busy(busy)
    print()
    print(table(summaries))


if __name__ == "__main__":
    main()
