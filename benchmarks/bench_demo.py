"""The Home page's demo as a user sees it: Chromium clicks "Try it" and waits for the saved run (issue 16).

    python benchmarks/bench_demo.py [--repeats 2] [--write]

Starts the app on a free port with an empty runs folder, opens Home in headless Chromium (``VDAE_CHROMIUM`` or
/usr/bin/chromium), clicks *Try it: torus + VDAE* and measures the wall time from the click to "It is now the
active run", and the run's own training seconds (``run.json``). Server, browser and training share the machine,
as in a demo. ``--write`` stores the medians under ``"demo"`` in the VDAE's measured file
(``vdae_core/models/tuned/vdae_presets.json``): the Home page promises that figure.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench_common import free_port, wait_for_server  # noqa: E402  (this script's folder is on sys.path)


def one(chromium: str) -> dict:
    """One cold server, one click; returns the wall and training seconds."""
    from playwright.sync_api import sync_playwright

    runs = tempfile.mkdtemp(prefix="bench_demo_")
    port = free_port()
    env = dict(os.environ, VDAE_RUNS_DIR=runs)
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(url, tries=200)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.wait_for_selector("text=Try it: torus + VDAE", timeout=120_000)
            time.sleep(8)  # the app's background warm-up (imports, the first optimiser) has had its time
            t = time.perf_counter()
            page.get_by_text("Try it: torus + VDAE").first.click()
            page.wait_for_selector("text=It is now the active run", timeout=300_000)
            wall = time.perf_counter() - t
            browser.close()
        info = json.load(open(glob.glob(os.path.join(runs, "*", "run.json"))[0]))
        return {"wall_s": wall, "train_s": float(info["info"]["train_seconds"])}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(runs, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--write", action="store_true", help="store the medians in the VDAE's measured file")
    a = ap.parse_args()
    chromium = os.environ.get("VDAE_CHROMIUM", "/usr/bin/chromium")
    rows = []
    for i in range(a.repeats):
        rows.append(one(chromium))
        print(json.dumps(rows[-1]), flush=True)
    demo = {"wall_s": statistics.median(r["wall_s"] for r in rows),
            "train_s": statistics.median(r["train_s"] for r in rows), "repeats": len(rows),
            "date": time.strftime("%Y-%m-%d"), "load_after": os.getloadavg()[0]}
    print(json.dumps(demo))
    if a.write:
        from vdae_core.foundation.preset_costs import TUNED_DIR
        from vdae_core.ui.jobs import DEMO_MEASURED

        path = os.path.join(TUNED_DIR, DEMO_MEASURED)
        doc = json.load(open(path))
        doc["demo"] = demo
        with open(path, "w") as fh:
            json.dump(doc, fh, indent=1)


if __name__ == "__main__":
    main()
