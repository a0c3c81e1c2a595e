"""Small pieces the benchmark scripts share: the CPU's name, a free port, waiting for a Streamlit server,
appending and reading JSON lines of a log, a process keeping one core busy, and the command line of the
VDAE sweeps (settings x data sets x seeds, one logged row each)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("unknown CPU" where there is none)."""
    try:
        with open("/proc/cpuinfo") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a Streamlit server the benchmark starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, tries: int = 120, pause: float = 0.5) -> None:
    """Poll ``url``'s Streamlit health endpoint until it answers (at most ``tries`` × ``pause`` seconds)."""
    for _ in range(tries):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2)
            return
        except OSError:
            time.sleep(pause)


def stop_server(proc: subprocess.Popen) -> None:
    """Stop a studio server: SIGTERM, then SIGKILL after 30 s (a server that does not stop must not load the next
    measurement)."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def append_log(path, *rows: dict) -> None:
    """Append each row as one JSON line to ``path`` (nothing without a path)."""
    if path:
        with open(path, "a") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")


def git_commit() -> str:
    """The short hash of the checkout's HEAD ('' outside a git checkout): which defaults a row measured."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                              cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_fields() -> dict:
    """The fields every logged row carries about where and when it ran: cpu, torch threads, date, the commit
    it ran (the defaults its empty overrides stand for) and the OpenMP wait policy (it halves or doubles
    the VDAE's training time on 2 cores)."""
    import torch

    return {"cpu": cpu_model(), "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d"),
            "commit": git_commit(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "") or "libgomp default"}


def read_log(path) -> list:
    """The rows of a JSON-lines log, in order (blank lines skipped)."""
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def newest_rows(path, key=("dataset", "model", "seed")) -> dict:
    """{key values: the log's newest row for them} (a later row replaces an earlier one), sorted by key."""
    out = {}
    for row in read_log(path):
        out[tuple(row[k] for k in key)] = row
    return dict(sorted(out.items()))


def settings_label(overrides: dict, commit: str = "", preset: str = "") -> str:
    """A table cell for a row's config overrides: "key value, ..." or "defaults" ("defaults at <commit>" where
    the row logged its commit: the defaults change, the label must say which it measured); a row run with
    ``--preset`` reads "<preset> preset at <commit>"."""
    if preset:
        return f"{preset} preset" + (f" at {commit}" if commit else "")
    return ", ".join(f"{k} {v}" for k, v in overrides.items()) or ("defaults at " + commit if commit else "defaults")


def row_label(row: dict) -> str:
    """:func:`settings_label` of a logged row."""
    return settings_label(row["overrides"], row.get("commit", ""), row.get("preset", ""))


def sweep_parser(data: str, seeds: str, doc: str = None):
    """The sweeps' shared arguments: --table LOG (print the table and stop), --log, --data, --seeds and
    --set JSON (repeat for several settings). Scripts add their own before parsing."""
    import argparse

    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--table", default=None, metavar="LOG", help="print the table of this log and stop")
    ap.add_argument("--log", default=None, help="append each row to this JSON-lines log")
    ap.add_argument("--data", default=data, help="comma-separated data sets")
    ap.add_argument("--seeds", default=seeds, help="comma-separated seeds")
    ap.add_argument("--set", action="append", default=None, help="JSON overrides (repeat for several settings)")
    ap.add_argument("--preset", default=None, choices=("paper", "live"),
                    help="the VDAE's named preset as the overrides (rows log its name)")
    return ap


def run_sweep(args, measure, show=None) -> None:
    """``measure(data, seed, overrides) -> row`` for every setting x data set x seed of ``args`` (from
    :func:`sweep_parser`), with 2 torch threads; each row is printed (only the keys in ``show`` if given)
    and appended to ``args.log``. vdae_core is imported before torch, so that its OpenMP wait policy (PASSIVE,
    the library's, CLI's and app's) is the one timed. The rows of docs/bench_vdae_bars_log.jsonl and its sibling
    logs dated up to 2026-12-07 ran with libgomp's default (active) policy instead, which trains the issue-29
    defaults about twice as fast on 2 idle cores (docs/BENCHMARKS.md)."""
    import vdae_core  # noqa: F401  (sets OMP_WAIT_POLICY before torch loads OpenMP)
    import torch

    torch.set_num_threads(2)
    settings = [("", json.loads(c)) for c in (args.set or ([] if getattr(args, "preset", None) else ["{}"]))]
    if getattr(args, "preset", None):
        from vdae_core.pipeline.presets import compose

        settings.append((args.preset, compose("vdae", args.preset)))
    for preset, over in settings:
        for data in args.data.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                row = measure(data, seed, over)
                if preset:
                    row["preset"] = preset
                print(json.dumps(row if show is None else {k: row[k] for k in show}), flush=True)
                append_log(args.log, row)


def sweep_main(measure, table, data: str, seeds: str, show=None) -> None:
    """A sweep script's whole command line (:func:`sweep_parser` with these default ``data`` and ``seeds``):
    ``--table LOG`` prints ``table(LOG)``, otherwise :func:`run_sweep` runs ``measure``."""
    args = sweep_parser(data, seeds).parse_args()
    if args.table:
        print(table(args.table))
        return
    run_sweep(args, measure, show=show)


def start_busy() -> subprocess.Popen:
    """A background process spinning one core (the "busy machine" case of a benchmark)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def stop_busy(proc) -> None:
    """End the spinning process started by :func:`start_busy` (nothing for None)."""
    if proc is not None:
        proc.kill()
        proc.wait()


def mean_sd(values) -> tuple:
    """(mean, sample sd) of ``values``; the sd is nan for a single value (no spread to report)."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    return float(v.mean()), (float(v.std(ddof=1)) if len(v) > 1 else float("nan"))
