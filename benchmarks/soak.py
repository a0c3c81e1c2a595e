"""A day of use in a few minutes (issue 34, item 4): one studio server, 200 trainings from headless Chromium with page
views in between, browser sessions opening and closing; does the server's memory, file handles or threads grow?

    python benchmarks/soak.py --trainings 200 --log docs/soak_log.jsonl [--steps-scale 0.05] [--every-session 10]

Each training is Home's "Try it" (the demo, its steps scaled by ``--steps-scale`` so that 200 fit in minutes; the
server code path is the same at any length), then one page view (the pages in turn). Every ``--every-session``
trainings the browser context is closed and a new one opened (a new cookie: a new owner id, a new Streamlit
session). After every training: the server's RSS, open file descriptors and threads (from /proc). At the end: the
runs folder against the run index (every folder listed, every listed folder whole), no temporary or moved-aside
folders, an empty journal. Bars (issue 34): RSS at the end within 20% of RSS after the 20th training; file handles
and threads no higher at the end than after the 20th training plus a small slack (``SLACK``). One JSON row to the
log; ``table(log)`` renders it.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench_common import free_port, machine_fields, stop_server, wait_for_server  # noqa: E402

PAGES = ("Data", "Latent space", "Random walks", "Bi-Lipschitz", "Topology audit", "Compare", "Train")
SLACK = 4  # file handles or threads a server may open for good after the 20th training (caches, pools)
WARM = 20  # the training after which the server counts as warmed up
#: Seconds Streamlit keeps a closed browser's session for its reconnection (``server.disconnectedSessionTTL``; 120 by
#: default, shortened here so that the two quiet samples below do not wait minutes: the TTL delays the freeing, it
#: does not bound what is kept).
SESSION_TTL = 20


def _proc(pid: int) -> dict:
    """RSS (MiB), open file descriptors and threads of a process, from /proc."""
    with open(f"/proc/{pid}/status") as fh:
        status = dict(line.split(":", 1) for line in fh if ":" in line)
    return {"rss_mib": int(status["VmRSS"].split()[0]) / 1024, "threads": int(status["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def _caches(url: str) -> dict:
    """What Streamlit's caches hold, from its metrics endpoint: ``st.cache_data`` bytes (pickled values, exact),
    ``st.cache_resource`` entries (a count: their size is not measured without an object-graph walk), session
    state and media files (bytes), and the sessions connected."""
    import urllib.request

    out = {"cache_data_mib": 0.0, "cache_resource_entries": 0, "session_state_mib": 0.0, "media_mib": 0.0,
           "active_sessions": 0}
    try:
        text = urllib.request.urlopen(url + "/_stcore/metrics", timeout=30).read().decode()
    except OSError:
        return out
    for line in text.splitlines():
        if line.startswith("active_sessions "):
            out["active_sessions"] = int(float(line.split()[-1]))
        if not line.startswith("cache_memory_bytes{"):
            continue
        value = float(line.rsplit(" ", 1)[1])
        if 'cache_type="st_cache_data"' in line:
            out["cache_data_mib"] += value / 2 ** 20
        elif 'cache_type="st_cache_resource"' in line:
            out["cache_resource_entries"] += int(value)
        elif 'cache_type="st_session_state"' in line:
            out["session_state_mib"] += value / 2 ** 20
        elif "media_file" in line:
            out["media_mib"] += value / 2 ** 20
    return out


def _check_folder(runs: str) -> dict:
    """The runs folder against the run index: folders, listed runs, loadable runs, leftovers, journal."""
    from vdae_core.pipeline.run_index import list_run_infos
    from vdae_core.pipeline.runs import RUN_FILES

    folders = [d for d in os.listdir(runs) if not d.startswith(".") and os.path.isdir(os.path.join(runs, d))]
    listed = list_run_infos(runs, viewer=None)
    whole = [r for r in listed if all(os.path.isfile(os.path.join(r.path, f)) for f in RUN_FILES)]
    hidden = [d for d in os.listdir(runs) if ".partial-" in d or ".old-" in d]
    journal = os.path.join(runs, ".jobs")
    return {"folders": len(folders), "listed": len(listed), "whole": len(whole), "leftovers": len(hidden),
            "journal": len(os.listdir(journal)) if os.path.isdir(journal) else 0}


def soak(trainings: int, chromium: str, steps_scale: float, every_session: int, env: dict = None,
         settle: float = 5.0) -> dict:
    from playwright.sync_api import sync_playwright

    runs = tempfile.mkdtemp(prefix="bench_soak_")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--browser.gatherUsageStats", "false",
                             "--server.disconnectedSessionTTL", str(SESSION_TTL)], cwd=ROOT,
                            env=dict(os.environ, VDAE_RUNS_DIR=runs, VDAE_DEMO_STEPS_SCALE=str(steps_scale), **(env or {})),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    samples, quiet, errors, t0 = [], [], [], time.perf_counter()

    def quiet_sample(done: int, wait: float) -> None:
        # every browser context closed: what the server keeps for good once its closed sessions are dropped (after
        # the session TTL) and their garbage collected (the studio's collector runs every COLLECT_EVERY_S)
        time.sleep(wait)
        quiet.append(dict(_proc(proc.pid), **_caches(url), training=done, t=time.perf_counter() - t0, wait_s=wait))

    from vdae_core.foundation.housekeeping import COLLECT_EVERY_S

    long_wait = SESSION_TTL + 2 * COLLECT_EVERY_S + settle
    try:
        wait_for_server(url, tries=200)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            ctx = page = None
            for i in range(trainings):
                if i % every_session == 0:
                    if ctx is not None:
                        ctx.close()
                        quiet_sample(i, long_wait if i == WARM else settle)
                    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                    page = ctx.new_page()
                page.goto(url)
                page.get_by_text("Try it: torus + VDAE").first.click(timeout=120_000)
                page.wait_for_selector("text=It is now the active run", timeout=300_000)
                name = PAGES[i % len(PAGES)]
                page.get_by_role("link", name=name).first.click()
                page.get_by_role("heading", name=name).first.wait_for(timeout=120_000)
                if page.locator('[data-testid="stException"]').count():
                    errors.append(f"{i}: {name}")
                samples.append(dict(_proc(proc.pid), training=i + 1, t=time.perf_counter() - t0))
            ctx.close()
            quiet_sample(trainings, long_wait)
            browser.close()
        folder = _check_folder(runs)
    finally:
        stop_server(proc)
        shutil.rmtree(runs, ignore_errors=True)
    warm, end = samples[min(WARM, len(samples)) - 1], samples[-1]
    qwarm = next(q for q in quiet if q["training"] >= min(WARM, trainings) and q["wait_s"] > settle)
    return {"bench": "soak", "trainings": trainings, "steps_scale": steps_scale, "every_session": every_session,
            "env": env or {}, "settle_s": settle,
            "wall_s": time.perf_counter() - t0, "samples": samples, "quiet": quiet, "page_errors": errors,
            "quiet_warm": qwarm, "quiet_end": quiet[-1],
            "rss_warm_mib": warm["rss_mib"], "rss_end_mib": end["rss_mib"],
            "rss_max_mib": max(s["rss_mib"] for s in samples),
            "fds_warm": warm["fds"], "fds_end": end["fds"], "threads_warm": warm["threads"],
            "threads_end": end["threads"], **{f"runs_{k}": v for k, v in folder.items()},
            **machine_fields(), "date": time.strftime("%Y-%m-%d")}


def _ends(row: dict) -> tuple:
    """(after the 20th training, at the end) as dicts of rss_mib / fds / threads: the quiet samples (every session
    closed, dropped and collected) where the row has them, else (rows before them) samples taken mid-session."""
    if "quiet_warm" in row:
        return row["quiet_warm"], row["quiet_end"]
    return ({"rss_mib": row["rss_warm_mib"], "fds": row["fds_warm"], "threads": row["threads_warm"]},
            {"rss_mib": row["rss_end_mib"], "fds": row["fds_end"], "threads": row["threads_end"]})


def bars(row: dict) -> dict:
    """Issue 34's soak bars, each True/False."""
    warm, end = _ends(row)
    return {"rss within 20% of the warm server": end["rss_mib"] <= 1.2 * warm["rss_mib"],
            "no leaked file handles": end["fds"] <= warm["fds"] + SLACK,
            "no leaked threads": end["threads"] <= warm["threads"] + SLACK,
            "runs folder = index": (row["runs_folders"] == row["runs_listed"] == row["runs_whole"] == row["trainings"]
                                    and row["runs_leftovers"] == 0 and row["runs_journal"] == 0),
            "no page errors": not row["page_errors"]}


def table(log_path: str) -> str:
    rows = [json.loads(line) for line in open(log_path)]
    out = ["| trainings | steps scale | new session every | sampled | wall, min | RSS after 20 → end (max), MiB | "
           "file handles after 20 → end | threads after 20 → end | cached data, MiB, after 20 → end | run folders / "
           "listed / whole / leftovers / journal | page errors | bars met |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        b = bars(r)
        warm, end = _ends(r)
        met = "all" if all(b.values()) else "not: " + ", ".join(k for k, v in b.items() if not v)
        sampled = (f"sessions closed, {warm.get('wait_s', 5):.0f} s later" if "quiet_warm" in r
                   else "mid-session (before the collector)")
        cached = (f"{warm['cache_data_mib']:.1f} → {end['cache_data_mib']:.1f}" if "quiet_warm" in r else "—")
        out.append(f"| {r['trainings']} | {r['steps_scale']:g} | {r['every_session']} | {sampled} | "
                   f"{r['wall_s'] / 60:.1f} | {warm['rss_mib']:.0f} → {end['rss_mib']:.0f} ({r['rss_max_mib']:.0f}) | "
                   f"{warm['fds']} → {end['fds']} | {warm['threads']} → {end['threads']} | {cached} | "
                   f"{r['runs_folders']} / {r['runs_listed']} / {r['runs_whole']} / {r['runs_leftovers']} / "
                   f"{r['runs_journal']} | {len(r['page_errors'])} | {met} |")
    return "\n".join(out)


def main() -> None:
    from bench_common import append_log

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trainings", type=int, default=200)
    ap.add_argument("--steps-scale", type=float, default=0.05)
    ap.add_argument("--every-session", type=int, default=10)
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="an environment variable for the server (repeatable), e.g. MALLOC_ARENA_MAX=2")
    ap.add_argument("--settle", type=float, default=5.0, help="seconds after closing a session before sampling")
    ap.add_argument("--log", required=True)
    ap.add_argument("--chromium", default=os.environ.get("VDAE_CHROMIUM", "/usr/bin/chromium"))
    a = ap.parse_args()
    if WARM % a.every_session or a.trainings <= WARM:
        ap.error(f"--every-session must divide {WARM} and --trainings exceed it (the quiet samples are taken when a "
                 "session closes, after the 20th training and at the end)")
    row = soak(a.trainings, a.chromium, a.steps_scale, a.every_session,
               dict(kv.split("=", 1) for kv in a.env), a.settle)
    append_log(a.log, row)
    print(json.dumps({k: v for k, v in row.items() if k not in ("samples", "quiet")}), flush=True)
    for q in row["quiet"]:
        print(json.dumps(q))
    print(json.dumps(bars(row)))
    print(table(a.log))


if __name__ == "__main__":
    main()


def prose(log_path: str) -> list:
    """The phrases of BENCHMARKS' soak section that quote the log (a test finds each in the doc, line breaks read as
    spaces): the first row's growth, and the newest row's quiet samples."""
    rows = [json.loads(line) for line in open(log_path)]
    first, last = rows[0], rows[-1]
    w, e = _ends(last)
    return [f"RSS grew by {100 * (first['rss_end_mib'] / first['rss_warm_mib'] - 1):.0f}% after the 20th training",
            f"file handles {w['fds']} → {e['fds']} and threads {w['threads']} → {e['threads']}",
            f"RSS within {100 * (e['rss_mib'] / w['rss_mib'] - 1):.0f}% of the 20th training's",
            f"(`st.cache_data`, {w['cache_data_mib']:.1f} → {e['cache_data_mib']:.1f} MiB)",
            f"({w['cache_resource_entries']} → {e['cache_resource_entries']} entries of `st.cache_resource`"]
