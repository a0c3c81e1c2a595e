"""Issue 11: does the app stay responsive while a comparison trains in the server process?

    python benchmarks/bench_app_sweep.py [--repeats 7]

One AppTest session (the script runs in this process, like the Streamlit server's script threads) holding a
small trained VDAE run. The Random walks page is rerun ``--repeats`` times and timed: first with nothing
else running, then while a sweep started from the Compare page trains full-length WGAN-GP runs in its
background thread (one torch thread, as the app runs it). Reported: median and max seconds per rerun.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def timed_reruns(at, page, repeats):
    at.switch_page(f"pages/{page}.py").run()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        at.run()
        out.append(time.perf_counter() - t)
        assert not at.exception, [e.value for e in at.exception]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--page", default="walks")
    a = ap.parse_args()
    runs = tempfile.mkdtemp(prefix="bench_app_sweep_")
    os.environ["VDAE_RUNS_DIR"] = runs
    from streamlit.testing.v1 import AppTest

    from vdae_core.api import DataConfig, save_run, train_run
    from vdae_core.ui import sweeps

    run = train_run("vdae", DataConfig(dataset="torus", n=1000, seed=0), {"spectral_steps": 100, "vae_steps": 200},
                    seed=0, device="cpu")
    save_run(run, os.path.join(runs, "torus_vdae"))
    at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=300)
    at.run()
    idle = timed_reruns(at, a.page, a.repeats)
    at.switch_page("pages/compare.py").run()
    at.multiselect(key="cmp.sweep.datasets").set_value(["circle"]).run()
    at.multiselect(key="cmp.sweep.models").set_value(["wgan_gp"]).run()
    at.number_input(key="cmp.sweep.seeds").set_value(2).run()
    at.toggle(key="cmp.sweep.quick").set_value(False).run()
    at.button(key="cmp.sweep.go").click().run()
    sweep = next(iter(sweeps._SWEEPS.values()))
    time.sleep(3)
    busy = timed_reruns(at, a.page, a.repeats)
    active = sweep.active
    sweeps.stop(sweep)
    for name, xs in (("idle", idle), ("while a sweep trains", busy)):
        print(f"{a.page} page rerun, {name}: median {statistics.median(xs):.2f} s, max {max(xs):.2f} s "
              f"({len(xs)} reruns)")
    print(f"the sweep was still training at the end of the timing: {active}")
    sweep.thread.join(timeout=600)


if __name__ == "__main__":
    main()
