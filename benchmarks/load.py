"""The studio under load (issue 34, item 1): N headless-Chromium sessions press Home's "Try it" at the same moment,
then visit every page; the server's health endpoint, memory and CPU are sampled throughout.

    python benchmarks/load.py --sessions 1,4,8 --log docs/load_log.jsonl [--pages] [--browse M] [--slots S]

One studio server per N (an empty runs folder; the demo at its real length). Every session is its own Chromium
(its own cookie: its own owner id), driven from its own thread; all of them click "Try it" after a barrier. Per
session: the seconds from the click to "It is now the active run", the place in the training queue it was shown
(if it had to wait), then (``--pages``) each page's seconds until its title shows, and any page exception.
``--browse M`` adds M sessions that only visit every page, over and over, while the others train (their page
times are reported apart). ``--slots S`` (and ``--threads T``) set the server's training queue
(``VDAE_TRAIN_SLOTS``, ``VDAE_TRAIN_THREADS``; "unbounded" rows are from before the queue). Throughout: the health
endpoint's answer time every 0.25 s, and the server process's RSS and CPU time from /proc. ``--browser-nice K`` holds
every Chromium thread at nice K (:class:`Demoter`): on a 2-core machine the browsers are most of the load
(``cpu_s_by_group``), and held there they take the cores only when the server and its trainings leave them, as
browsers on the users' own machines would. Every ended training's submit, start and end times come from the
server's ``.jobs/ended.jsonl``: the table shows the time at the server beside the time in the browser.
One JSON row per N goes to the log; ``table(log)`` renders it.
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
sys.path.insert(0, ROOT)

from bench_common import free_port, machine_fields, stop_server, wait_for_server  # noqa: E402

from vdae_core.pipeline import job_journal  # noqa: E402  (light: no torch)

PAGES = ("Data", "Train", "Latent space", "Random walks", "Bi-Lipschitz", "Topology audit", "Compare")


def _proc_stats(pid: int):
    """(RSS in MiB, user + system CPU seconds) of a process, from /proc."""
    with open(f"/proc/{pid}/status") as fh:
        rss = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / ticks


def _cpu_by_group(server: int) -> dict:
    """Cumulative CPU seconds of every live process, by pid: (group, seconds); groups: the server, its children
    (the training workers), the browsers (Chromium), other."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                raw = fh.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1: raw.rindex(")")]
        f = raw.rsplit(")", 1)[1].split()
        out[int(d)] = (comm, int(f[1]), (int(f[11]) + int(f[12])) / ticks)
    groups = {}
    for pid, (comm, ppid, secs) in out.items():
        # the training zygote is the server's child, its workers the zygote's (or the server's) children
        parents = {ppid, out.get(ppid, ("", 0, 0))[1]}
        group = ("server" if pid == server else "workers" if server in parents else
                 "browsers" if "chrom" in comm else "other")
        groups[pid] = (group, secs)
    return groups


class Sampler(threading.Thread):
    """Polls the health endpoint (answer time) and the server's RSS/CPU until stopped."""

    def __init__(self, url: str, pid: int, every: float = 0.25):
        super().__init__(daemon=True)
        self.url, self.pid, self.every = url, pid, every
        self.health, self.rss, self.stop_flag = [], [], threading.Event()
        self.cpu0 = _proc_stats(pid)[1]
        self.t0 = time.perf_counter()
        self.first = _cpu_by_group(pid)
        self.last = dict(self.first)

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
            self.last.update(_cpu_by_group(self.pid))  # a process that ended keeps its last reading
            time.sleep(self.every)

    def summary(self) -> dict:
        wall = time.perf_counter() - self.t0
        cpu = _proc_stats(self.pid)[1] - self.cpu0
        h = sorted(self.health)
        groups: dict = {}
        for p, (g, secs) in self.last.items():
            groups[g] = groups.get(g, 0.0) + secs - (self.first[p][1] if p in self.first else 0.0)
        return {"cpu_s_by_group": {g: round(v, 1) for g, v in sorted(groups.items())},"health_max_s": h[-1], "health_p95_s": h[int(0.95 * (len(h) - 1))], "health_n": len(h),
                "rss_max_mib": max(self.rss), "rss_start_mib": self.rss[0], "server_cpu_s": cpu,
                "server_cpu_share": cpu / wall}


class Demoter(threading.Thread):
    """Holds every thread of every Chromium process, and its scheduler autogroup, at nice ``nice`` until stopped.

    Starting Chromium under ``nice`` is not enough, for two reasons seen here: Playwright starts each browser in
    a session of its own, so with ``kernel.sched_autogroup_enabled`` the kernel first shares the CPU fairly between
    the browsers' autogroups and the server's (which holds the server and every training) and only then applies
    nice values inside a group; and run as root Chromium raises its own render threads to nice -8. So each
    Chromium process's autogroup is set to ``nice`` (``/proc/<pid>/autogroup``) and each thread is lowered, every
    ``every`` seconds (a new thread may run at its own priority until the next pass)."""

    def __init__(self, nice: int, every: float = 0.1):
        super().__init__(daemon=True)
        self.nice, self.every, self.stop_flag, self.lowered, self.groups = nice, every, threading.Event(), 0, set()

    @staticmethod
    def _ours(pid: str) -> bool:
        """Whether process ``pid`` descends from this benchmark (Playwright's browsers do; a developer's Chrome
        does not)."""
        me, p = os.getpid(), int(pid)
        for _ in range(12):
            try:
                with open(f"/proc/{p}/stat") as fh:
                    p = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                return False
            if p == me:
                return True
            if p <= 1:
                return False
        return False

    def run(self) -> None:
        while not self.stop_flag.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/comm") as fh:
                        if not fh.read().startswith(("chrom", "headless")) or not self._ours(pid):
                            continue
                    if pid not in self.groups:  # Playwright starts each Chromium in its own session, and so
                        # in its own autogroup: the kernel shares the CPU fairly between autogroups before nice
                        # values count, so the group is lowered too (root may; otherwise only the threads are)
                        self.groups.add(pid)
                        try:
                            with open(f"/proc/{pid}/autogroup", "w") as fh:
                                fh.write(str(self.nice))
                        except OSError:
                            pass
                    for tid in os.listdir(f"/proc/{pid}/task"):
                        if os.getpriority(os.PRIO_PROCESS, int(tid)) != self.nice:
                            os.setpriority(os.PRIO_PROCESS, int(tid), self.nice)
                            self.lowered += 1
                except OSError:  # the process or thread ended meanwhile
                    continue
            time.sleep(self.every)


def _visit_pages(page, out: dict) -> None:
    """Every page once: seconds until its title shows, and the pages that showed an exception or an error box."""
    for name in PAGES:
        t = time.perf_counter()
        page.get_by_role("link", name=name).first.click()
        page.get_by_role("heading", name=name).first.wait_for(timeout=180_000)
        out["page_s"].setdefault(name, []).append(time.perf_counter() - t)
        if page.locator('[data-testid="stException"]').count():
            out["errors"].append(name)


def niced(chromium: str, nice: int) -> str:
    """A launcher that starts ``chromium`` at nice ``nice`` (its renderers inherit it); ``chromium`` when 0."""
    if not nice:
        return chromium
    path = os.path.join(tempfile.mkdtemp(prefix="bench_chromium_"), "chromium")
    with open(path, "w") as fh:
        fh.write(f'#!/bin/sh\nexec nice -n {int(nice)} "{chromium}" "$@"\n')
    os.chmod(path, 0o755)
    return path


def session(url: str, chromium: str, barrier: threading.Barrier, pages: bool, out: dict,
            browse_until: threading.Event = None, settle: float = 0.0) -> None:
    """One user: open Home, click Try it with the others, wait for the saved run, then (``pages``) every page.
    With ``browse_until``: a user who trains nothing and visits every page until the event is set."""
    from playwright.sync_api import sync_playwright

    out["page_s"], out["errors"] = {}, []
    ready = False
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(url)
            page.wait_for_selector("text=Try it: torus + VDAE", timeout=180_000)
            ready = True
            time.sleep(settle)  # a server that has finished its warm-up (imports, the training workers)
            barrier.wait(timeout=600)
            if browse_until is not None:
                while not browse_until.is_set():
                    _visit_pages(page, out)
                browser.close()
                return
            t = time.perf_counter()
            page.get_by_text("Try it: torus + VDAE").first.click()
            page.wait_for_selector("text=/place \\d+ in the queue|It is now the active run/", timeout=600_000)
            if page.locator("text=/place \\d+ in the queue/").count():
                text = page.locator("text=/place \\d+ in the queue/").first.inner_text()
                import re

                out["queue_place"] = int(re.search(r"place (\d+) in the queue", text).group(1))
            page.wait_for_selector("text=It is now the active run", timeout=600_000)
            out["try_it_s"] = time.perf_counter() - t
            if pages:
                _visit_pages(page, out)
            browser.close()
    except Exception as e:  # a session that fails is a finding, not a crash of the benchmark
        out["failed"] = f"{type(e).__name__}: {str(e)[:200]}"
        if not ready:  # the others wait for this one at the barrier: let them go
            try:
                barrier.wait(timeout=600)
            except threading.BrokenBarrierError:
                pass


def one_load(n: int, chromium: str, pages: bool, browse: int = 0, slots: int = 0, threads: int = 0,
             settle: float = 0.0, browser_nice: int = 0) -> dict:
    chromium = niced(chromium, browser_nice)
    runs = tempfile.mkdtemp(prefix="bench_load_")
    port = free_port()
    env = dict(os.environ, VDAE_RUNS_DIR=runs)
    for name, v in (("VDAE_TRAIN_SLOTS", slots), ("VDAE_TRAIN_THREADS", threads)):
        env.pop(name, None)
        if v:
            env[name] = str(v)
    log = open(os.path.join(tempfile.gettempdir(), f"load_server_{n}_{browse}_{int(pages)}.log"), "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--browser.gatherUsageStats", "false"], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(url, tries=200)
        sampler = Sampler(url, proc.pid)
        sampler.start()
        demoter = Demoter(browser_nice) if browser_nice else None
        if demoter is not None:
            demoter.start()
        barrier = threading.Barrier(n + browse)
        outs = [{} for _ in range(n)]
        browsers = [{} for _ in range(browse)]
        trained = threading.Event()
        workers = [threading.Thread(target=session, args=(url, chromium, barrier, pages, o, None, settle))
                   for o in outs]
        lookers = [threading.Thread(target=session, args=(url, chromium, barrier, False, o, trained, settle))
                   for o in browsers]
        for t in workers + lookers:
            t.start()
        for t in workers:
            t.join()
        trained.set()
        for t in lookers:
            t.join()
        sampler.stop_flag.set()
        sampler.join()
        if demoter is not None:
            demoter.stop_flag.set()
            demoter.join()
        if proc.poll() is not None:  # the server itself died: that is the finding
            raise RuntimeError(f"the studio server exited with code {proc.returncode} during the load (log: {log.name})")
        ended = [e for e in job_journal.ended(runs) if e.get("status") == "done" and e.get("ended")]
        server_s = [e["ended"] - e["submitted"] for e in ended]  # at the server: click received -> run saved
        runs_saved = len([d for d in os.listdir(runs) if os.path.isfile(os.path.join(runs, d, "run.json"))])
        times = [o["try_it_s"] for o in outs if "try_it_s" in o]
        browse_times = [t for o in browsers for ts in o["page_s"].values() for t in ts]
        settings = {"slots": slots or "default", "threads": threads or "default"}
        return {"bench": "load", "sessions": n, "pages": pages, "browse": browse, "queue": settings, "settle_s": settle,
                "browser_nice": browser_nice, "browser_nice_held": demoter is not None,
                "browser_threads_lowered": demoter.lowered if demoter is not None else 0,
                "sessions_out": outs, "browsers_out": browsers, "runs_saved": runs_saved,
                "try_it_max_s": max(times) if times else None,
                "try_it_median_s": statistics.median(times) if times else None,
                "queued": sum("queue_place" in o for o in outs),
                "server_s_max": max(server_s) if server_s else None,
                "server_wait_s_max": max((e["started"] - e["submitted"] for e in ended), default=None),
                "server_train_s_max": max((e["train_s"] for e in ended), default=None),
                "browse_page_median_s": statistics.median(browse_times) if browse_times else None,
                "browse_page_max_s": max(browse_times) if browse_times else None,
                "page_errors": sum(len(o["errors"]) for o in outs + browsers),
                "failed": sum("failed" in o for o in outs + browsers), **sampler.summary(), **machine_fields(),
                "date": time.strftime("%Y-%m-%d")}
    finally:
        stop_server(proc)
        shutil.rmtree(runs, ignore_errors=True)
        log.close()


def _queue_text(r: dict) -> str:
    q = r.get("queue")
    if q is None:
        return "none (before the queue)"
    return f"{q['slots']} × {q['threads']}" if q["slots"] != "default" else "default"


def _nice_text(r: dict) -> str:
    if not r.get("browser_nice"):
        return ""
    if r.get("browser_nice_held"):
        return f", browsers held at nice {r['browser_nice']}"
    return f", browsers started at nice {r['browser_nice']} (not held: no effect, see below)"


def table(log_path: str) -> str:
    rows = [json.loads(line) for line in open(log_path)]
    # one session alone, per queue setting, pages, warm-up and browser priority: what "slowest ÷ one alone" divides
    # by — the newest such row logged before this one (the run measures 1 session, then N)
    alone = {}
    out = ["| queue (slots × threads) | server | sessions training | sessions browsing | then every page | runs saved | "
           "told their place | sessions failed / pages with an error | Try it → saved, median / slowest, s | "
           "slowest ÷ one alone | at the server: submitted → saved, slowest, s (÷ one alone) | "
           "browsing: page median / max, s | health answer, p95 / max, s | "
           "server RSS, start → max, MiB | server CPU share |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    alone_server = {}
    for r in rows:
        key = (_queue_text(r), r["pages"], r.get("settle_s", 0), r.get("browser_nice", 0), r.get("browser_nice_held"))
        if r["sessions"] == 1 and r["try_it_max_s"] and not r.get("browse"):
            alone[key] = r["try_it_max_s"]
            alone_server[key] = r.get("server_s_max")
        one = alone.get(key)
        server_s = r.get("server_s_max")
        at_server = "—" if server_s is None else f"{server_s:.1f}" + (
            f" ({server_s / alone_server[key]:.1f}×)" if alone_server.get(key) else "")
        ratio = f"{r['try_it_max_s'] / one:.1f}×" if one and r["try_it_max_s"] else "—"
        times = (f"{r['try_it_median_s']:.1f} / {r['try_it_max_s']:.1f}" if r["try_it_max_s"] is not None
                 else "— (none saw its run)")
        browse = (f"{r['browse_page_median_s']:.1f} / {r['browse_page_max_s']:.1f}"
                  if r.get("browse_page_median_s") is not None else "—")
        told = f"{r['queued']}" if "queued" in r else "—"
        server = (f"warm ({r['settle_s']:.0f} s)" if r.get("settle_s") else "cold") + _nice_text(r)
        out.append(f"| {_queue_text(r)} | {server} | {r['sessions']} | {r.get('browse', 0)} | {'yes' if r['pages'] else 'no'} | "
                   f"{r['runs_saved']} of {r['sessions']} | {told} | {r['failed']} / {r.get('page_errors', 0)} | "
                   f"{times} | {ratio} | {at_server} | {browse} | {r['health_p95_s']:.2f} / {r['health_max_s']:.2f} | "
                   f"{r['rss_start_mib']:.0f} → {r['rss_max_mib']:.0f} | {r['server_cpu_share']:.2f} |")
    return "\n".join(out)


def prose(log_path: str) -> list:
    """The phrases of BENCHMARKS' load section that quote the newest queue rows (a test finds each in the doc, with
    line breaks read as spaces)."""
    rows = [json.loads(line) for line in open(log_path)]
    q = {}
    for r in rows:  # newest row per (sessions, browsing, pages, warm-up, browsers held low) with the queue
        if r.get("queue") is not None and r["queue"]["slots"] == "default":
            q[(r["sessions"], r.get("browse", 0), r["pages"], r.get("settle_s", 0),
               r.get("browser_nice", 0) if r.get("browser_nice_held") else 0 if not r.get("browser_nice") else -1)] = r
    one, four, eight, browse = (q[(n, b, False, 0, 0)] for n, b in ((1, 0), (4, 0), (8, 0), (4, 4)))
    cpu = eight["cpu_s_by_group"]
    warm1, warm4 = q[(1, 0, False, 20.0, 0)], q[(4, 0, False, 20.0, 0)]
    held = {(n, w): q[(n, 0, False, w, 19)] for n in (1, 4) for w in (0, 20.0)}
    ones = {}
    for r in rows:  # the one-slot comparison (1 slot of 2 threads), cold
        if (r.get("queue") and r["queue"]["slots"] == 1 and not r.get("settle_s") and not r.get("browse")
                and not r.get("browser_nice")):
            ones[r["sessions"]] = r

    def ratio(a: dict, b: dict, key: str) -> str:
        return f"{b[key] / a[key]:.1f}×"

    return [f"the slowest in {ratio(one, four, 'try_it_max_s')} one session alone",
            f"answered within {four['health_max_s']:.2f} s throughout (its 95th percentile {four['health_p95_s']:.2f} s)",
            f"all {'eight' if eight['runs_saved'] == 8 else eight['runs_saved']} finished, "
            f"{ {6: 'six'}.get(eight['queued'], eight['queued'])} were shown their place",
            f"{eight['health_max_s']:.1f} s, is over 1 s",
            f"the browsers used {cpu['browsers']:.0f} of the {sum(cpu.values()):.0f} CPU seconds, the server "
            f"{cpu['server']:.0f} and the trainings {cpu['workers']:.0f}",
            f"pages showed in {browse['browse_page_median_s']:.1f} s (median) but up to "
            f"{browse['browse_page_max_s']:.0f} s, the browsers using {browse['cpu_s_by_group']['browsers']:.0f} CPU seconds",
            f"one session alone took {warm1['try_it_max_s']:.1f} s and four took {warm4['try_it_max_s']:.1f} s at the "
            f"slowest: {ratio(warm1, warm4, 'try_it_max_s')}",
            f"{warm4['server_s_max']:.1f} s there too, and the trainings themselves took up to "
            f"{warm4['server_train_s_max']:.1f} s, against {warm1['server_train_s_max']:.1f} s alone",
            f"four warm sessions took {held[4, 20.0]['server_s_max']:.1f} s at the server against "
            f"{held[1, 20.0]['server_s_max']:.1f} s alone ({ratio(held[1, 20.0], held[4, 20.0], 'server_s_max')}), "
            f"the trainings {held[4, 20.0]['server_train_s_max']:.1f} s each, and the health endpoint answered within "
            f"{held[4, 20.0]['health_max_s']:.2f} s",
            f"{held[4, 20.0]['try_it_max_s']:.1f} s against {held[1, 20.0]['try_it_max_s']:.1f} s "
            f"({ratio(held[1, 20.0], held[4, 20.0], 'try_it_max_s')})",
            f"Cold, held at nice 19: {ratio(held[1, 0], held[4, 0], 'server_s_max')} at the server and "
            f"{ratio(held[1, 0], held[4, 0], 'try_it_max_s')} in the browsers",
            "4-session ratios of " + _ab_text(log_path),
            f"one slot of two threads took {ones[1]['try_it_max_s']:.1f} s for one session and "
            f"{ones[4]['try_it_max_s']:.1f} s for the slowest of four, against {one['try_it_max_s']:.1f} s and "
            f"{four['try_it_max_s']:.1f} s with the defaults"]


def _ab_text(load_log: str) -> str:
    ab = autogroup_ab(os.path.join(os.path.dirname(load_log), "load_autogroup_ab_log.jsonl"))
    own, dflt = (ab[k] for k in ab)
    fmt = lambda v: ", ".join(f"{x:.1f}×" for x in v[:-1]) + f" and {v[-1]:.1f}×"  # noqa: E731
    return f"{fmt(own)} against {fmt(dflt)}"


def autogroup_ab(log_path: str) -> dict:
    """{variant: [4-session ÷ 1-session ratio of each warm pair]} of docs/load_autogroup_ab_log.jsonl (pairs of runs,
    the variants alternating)."""
    out: dict = {}
    rows = [json.loads(line) for line in open(log_path)]
    for v in dict.fromkeys(r["variant"] for r in rows):
        rs = [r for r in rows if r["variant"] == v]
        out[v] = [b["try_it_max_s"] / a["try_it_max_s"] for a, b in zip(rs[::2], rs[1::2])
                  if a["sessions"] == 1 and b["sessions"] == 4]
    return out


def main() -> None:
    from bench_common import append_log

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", default="1,4", help="comma-separated session counts (1 to 8)")
    ap.add_argument("--pages", action="store_true", help="after the training, visit every page")
    ap.add_argument("--browse", type=int, default=0, help="sessions that only browse while the others train")
    ap.add_argument("--slots", type=int, default=0, help="the server's VDAE_TRAIN_SLOTS (0: its default)")
    ap.add_argument("--threads", type=int, default=0, help="the server's VDAE_TRAIN_THREADS (0: its default)")
    ap.add_argument("--settle", type=float, default=0.0,
                    help="seconds between the page showing and the click (0: a cold server; 20: after its warm-up)")
    ap.add_argument("--browser-nice", type=int, default=0,
                    help="start the Chromiums at this nice value (0: as the server; 10: as if on other machines)")
    ap.add_argument("--log", required=True)
    ap.add_argument("--chromium", default=os.environ.get("VDAE_CHROMIUM", "/usr/bin/chromium"))
    a = ap.parse_args()
    for n in (int(x) for x in a.sessions.split(",")):
        row = one_load(n, a.chromium, a.pages, a.browse, a.slots, a.threads, a.settle, a.browser_nice)
        append_log(a.log, row)
        print(json.dumps({k: v for k, v in row.items() if k not in ("sessions_out", "browsers_out")}), flush=True)
    print(table(a.log))


if __name__ == "__main__":
    main()
