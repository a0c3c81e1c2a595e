"""Issue 33's bar for the Lessons: each lesson finishes in ≤ 30 s the first time and ≤ 2 s when cached, on 2 cores.

    python benchmarks/bench_lessons.py --log docs/bench_lessons_log.jsonl [--busy]

Each lesson in a fresh process (it pays for its imports, as the first visitor of a fresh server does) with an
empty runs root, so nothing is cached — runs are trained, measured and drawn: the *first* time. Then a second
fresh process opens the same lesson from that root: the *cached* time (the lesson cache and run folders on disk,
as after a restart of the server), reported without the process's start-up — the imports of the studio's warm-up
(torch, the models, the figure modules) and plotly's default template, which any page's first figure loads
(``lesson``: what a running studio pays) — and with it (``total``: a cold process). ``--busy`` adds a process spinning on
one core. ``table(log)`` renders docs/BENCHMARKS.md's table (the newest rows per lesson and machine state).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import vdae_core
from vdae_core.foundation.registry import MODELS
from vdae_core.lessons import get_lesson, run_lesson
# what a running studio has loaded already: its warm-up's imports (ui.cache.warm_up) and plotly's default
# template, which the first figure of any page loads
from vdae_core import api  # noqa: F401
from vdae_core.study import analysis  # noqa: F401
from vdae_core.viz import bilip, curves, images, scatter, walks  # noqa: F401
import plotly.graph_objects as go
MODELS.names(), go.Figure().to_json()
t_import = time.perf_counter() - t0
res = run_lesson(get_lesson(sys.argv[1]), root=sys.argv[2])
print(json.dumps({"import_s": t_import, "lesson_s": res.seconds, "total_s": time.perf_counter() - t0,
                  "cached": res.cached, "train_s": sum(res.numbers["train_seconds"].values())}))
"""


def one(key: str, root: str) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", CHILD, key, root], capture_output=True, text=True, env=env,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(log_path: str) -> str:
    from bench_common import newest_rows

    rows = newest_rows(log_path, key=("lesson", "busy"))
    out = ["| lesson | machine state | first time, s (bar 30) | of which training, s | cached, in a running studio, s "
           "(bar 2) | cached, a cold process with its imports, s |", "|---|---|---|---|---|---|"]
    order = [r["lesson"] for r in sorted(rows.values(), key=lambda r: r["order"])]
    for key in dict.fromkeys(order):
        for busy in (False, True):
            r = rows.get((key, busy))
            if r is None:
                continue
            out.append(f"| {r['order']}. {r['title']} | {'one core busy' if busy else 'idle'} | "
                       f"{r['first']['total_s']:.1f} | {r['first']['train_s']:.1f} | {r['cached']['lesson_s']:.2f} | "
                       f"{r['cached']['total_s']:.1f} |")
    return "\n".join(out)


def main():
    from bench_common import append_log, machine_fields, start_busy, stop_busy

    import vdae_core  # noqa: F401
    from vdae_core.lessons import lessons

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", required=True)
    ap.add_argument("--busy", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated lesson names")
    a = ap.parse_args()
    busy = start_busy() if a.busy else None
    try:
        for i, L in enumerate(lessons(), 1):
            if a.only and L.key not in a.only.split(","):
                continue
            root = tempfile.mkdtemp(prefix="bench_lessons_")
            first = one(L.key, root)
            cached = one(L.key, root)
            assert not first["cached"] and cached["cached"], (first, cached)
            row = {"bench": "lessons", "lesson": L.key, "title": L.title, "order": i, "busy": a.busy,
                   "first": first, "cached": cached, **machine_fields(), "date": time.strftime("%Y-%m-%d")}
            append_log(a.log, row)
            print(f"{L.key}: first {first['total_s']:.1f} s (training {first['train_s']:.1f} s), cached "
                  f"{cached['total_s']:.1f} s (lesson {cached['lesson_s']:.2f} s)", flush=True)
    finally:
        if busy is not None:
            stop_busy(busy)
    print(table(a.log))


if __name__ == "__main__":
    main()
