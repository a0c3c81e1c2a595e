"""The studio under load (issue 34, item 1): N headless-Chromium sessions press Home's "Try it" at the same moment,
then visit every page; the server's health endpoint, memory and CPU are sampled throughout.

    python benchmarks/load.py --sessions 1,4 --log docs/load_log.jsonl [--pages]

One studio server per N (an empty runs folder; the demo at its real length). Every session is its own Chromium
(its own cookie: its own owner id), driven from its own thread; all of them click "Try it" after a barrier. Per
session: the seconds from the click to "It is now the active run", then (``--pages``) each page's seconds until
its title shows, and any page exception. Throughout: the health endpoint's answer time every 0.25 s, and the
server process's RSS and CPU time from /proc. One JSON row per N goes to the log; ``table(log)`` renders it.

What it does not do yet (issue 34 stays open): sessions that only browse while others train, 8 sessions as a
bar, the queue it will be used to size.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_common import free_port, machine_fields, wait_for_server  # noqa: E402

PAGES = ("Data", "Train", "Latent space", "Random walks", "Bi-Lipschitz", "Topology audit", "Compare")


def _proc_stats(pid: int):
    """(RSS in MiB, user + system CPU seconds) of a process, from /proc."""
    with open(f"/proc/{pid}/status") as fh:
        rss = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / ticks


class Sampler(threading.Thread):
    """Polls the health endpoint (answer time) and the server's RSS/CPU until stopped."""

    def __init__(self, url: str, pid: int, every: float = 0.25):
        super().__init__(daemon=True)
        self.url, self.pid, self.every = url, pid, every
        self.health, self.rss, self.stop_flag = [], [], threading.Event()
        self.cpu0 = _proc_stats(pid)[1]
        self.t0 = time.perf_counter()

    def run(self) -> None:
        while not self.stop_flag.is_set():
            t = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=30) as r:
                    r.read()
                self.health.append(time.perf_counter() - t)
            except OSError:
                self.health.append(float("inf"))
            try:
                self.rss.append(_proc_stats(self.pid)[0])
            except OSError:
                pass
            time.sleep(self.every)

    def summary(self) -> dict:
        wall = time.perf_counter() - self.t0
        cpu = _proc_stats(self.pid)[1] - self.cpu0
        h = sorted(self.health)
        return {"health_max_s": h[-1], "health_p95_s": h[int(0.95 * (len(h) - 1))], "health_n": len(h),
                "rss_max_mib": max(self.rss), "rss_start_mib": self.rss[0], "server_cpu_s": cpu,
                "server_cpu_share": cpu / wall}


def session(url: str, chromium: str, barrier: threading.Barrier, pages: bool, out: dict) -> None:
    """One user: open Home, click Try it with the others, wait for the saved run, then (``pages``) every page."""
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(url)
            page.wait_for_selector("text=Try it: torus + VDAE", timeout=180_000)
            barrier.wait()
            t = time.perf_counter()
            page.get_by_text("Try it: torus + VDAE").first.click()
            page.wait_for_selector("text=It is now the active run", timeout=600_000)
            out["try_it_s"] = time.perf_counter() - t
            out["page_s"], out["errors"] = {}, []
            if pages:
                for name in PAGES:
                    t = time.perf_counter()
                    page.get_by_role("link", name=name).first.click()
                    page.get_by_role("heading", name=name).first.wait_for(timeout=180_000)
                    out["page_s"][name] = time.perf_counter() - t
                    if page.locator('[data-testid="stException"]').count():
                        out["errors"].append(name)
            browser.close()
    except Exception as e:  # a session that fails is a finding, not a crash of the benchmark
        out["failed"] = f"{type(e).__name__}: {str(e)[:200]}"


def one_load(n: int, chromium: str, pages: bool) -> dict:
    runs = tempfile.mkdtemp(prefix="bench_load_")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--browser.gatherUsageStats", "false"], cwd=ROOT,
                            env=dict(os.environ, VDAE_RUNS_DIR=runs), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(url, tries=200)
        sampler = Sampler(url, proc.pid)
        sampler.start()
        barrier = threading.Barrier(n)
        outs = [{} for _ in range(n)]
        threads = [threading.Thread(target=session, args=(url, chromium, barrier, pages, o)) for o in outs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sampler.stop_flag.set()
        sampler.join()
        runs_saved = len([d for d in os.listdir(runs) if os.path.isfile(os.path.join(runs, d, "run.json"))])
        times = [o["try_it_s"] for o in outs if "try_it_s" in o]
        return {"bench": "load", "sessions": n, "pages": pages, "sessions_out": outs, "runs_saved": runs_saved,
                "try_it_max_s": max(times) if times else None,
                "try_it_median_s": statistics.median(times) if times else None,
                "failed": sum("failed" in o for o in outs), **sampler.summary(), **machine_fields(),
                "date": time.strftime("%Y-%m-%d")}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(runs, ignore_errors=True)


def table(log_path: str) -> str:
    rows = [json.loads(line) for line in open(log_path)]
    alone = {r["pages"]: r["try_it_max_s"] for r in rows if r["sessions"] == 1 and r["try_it_max_s"]}
    out = ["| sessions | then every page | runs saved | sessions failed | Try it → saved, median / slowest, s | "
           "slowest ÷ one alone | health answer, p95 / max, s | server RSS, start → max, MiB | server CPU share |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = (f"{r['try_it_max_s'] / alone[r['pages']]:.1f}×" if alone.get(r["pages"]) and r["try_it_max_s"]
                 else "—")
        times = (f"{r['try_it_median_s']:.1f} / {r['try_it_max_s']:.1f}" if r["try_it_max_s"] is not None
                 else "— (none saw its run)")
        out.append(f"| {r['sessions']} | {'yes' if r['pages'] else 'no'} | {r['runs_saved']} of {r['sessions']} | "
                   f"{r['failed']} | {times} | {ratio} | "
                   f"{r['health_p95_s']:.2f} / {r['health_max_s']:.2f} | {r['rss_start_mib']:.0f} → "
                   f"{r['rss_max_mib']:.0f} | {r['server_cpu_share']:.2f} |")
    return "\n".join(out)


def main() -> None:
    from bench_common import append_log

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", default="1,4", help="comma-separated session counts (1 to 8)")
    ap.add_argument("--pages", action="store_true", help="after the training, visit every page")
    ap.add_argument("--log", required=True)
    ap.add_argument("--chromium", default=os.environ.get("VDAE_CHROMIUM", "/usr/bin/chromium"))
    a = ap.parse_args()
    for n in (int(x) for x in a.sessions.split(",")):
        row = one_load(n, a.chromium, a.pages)
        append_log(a.log, row)
        print(json.dumps({k: v for k, v in row.items() if k != "sessions_out"}), flush=True)
    print(table(a.log))


if __name__ == "__main__":
    main()
