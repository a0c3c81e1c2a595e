"""Issue 15: how long a display-only control takes to reach the screen on the Random walks page.

    python benchmarks/bench_display.py --run RUN_FOLDER [--app-dir DIR] [--busy] [--log docs/bench_display_log.jsonl]

Starts the studio on a saved run (a bunny VDAE: a mesh, two animated 3-D walks), opens the Random walks page in
headless Chromium, waits until the walks are computed and drawn, then moves a slider one notch with the keyboard
and times the rerun: from the key press until Streamlit's "running" indicator is gone and the figure is drawn
again. Display-only controls (trail, ms / frame, up axis) against a control that recomputes (walkers). ``--app-dir``
runs another checkout of the app (a baseline) on the same run; ``--busy`` keeps another process spinning on a core.
"""
import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rerun_seconds(page, label: str, key: str = "ArrowRight") -> float:
    """Focus the slider (or radio) called ``label``, press ``key``, and time until the app is idle again."""
    widget = page.get_by_label(label).first if label != "up axis" else page.get_by_text("y", exact=True).first
    if label != "up axis":
        widget.focus()
    t = time.perf_counter()
    if label == "up axis":
        widget.click()
    else:
        page.keyboard.press(key)
    try:  # the status widget appears while the script (or fragment) runs
        page.wait_for_selector('[data-testid="stStatusWidget"]', timeout=1500)
    except Exception:  # noqa: BLE001 - it may have come and gone already
        pass
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--app-dir", default=ROOT)
    ap.add_argument("--busy", action="store_true")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--log", default=None)
    ap.add_argument("--tag", default="working tree")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    runs_dir = os.path.dirname(os.path.abspath(a.run))
    port = free_port()
    env = dict(os.environ, VDAE_RUNS_DIR=runs_dir, PYTHONPATH=a.app_dir)
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                               "--server.port", str(port), "--browser.gatherUsageStats", "false"], cwd=a.app_dir,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if a.busy else None
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        meta = json.load(open(os.path.join(a.run, "run.json")))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("VDAE_CHROMIUM", "/usr/bin/chromium"),
                                        args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(f"{url}/walks?dataset={meta['dataset_name']}&model={meta['model']}&seed={meta['seed']}")
            page.wait_for_selector("text=Press ▶ Play", timeout=300_000)
            page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=300_000)
            time.sleep(2)
            results = {}
            for label in ("trail", "ms / frame", "up axis", "walkers"):
                vals = []
                for i in range(a.reps):
                    vals.append(rerun_seconds(page, label, "ArrowRight" if i % 2 == 0 else "ArrowLeft"))
                    if label == "up axis":  # back to z for the next try
                        page.get_by_text("z", exact=True).first.click()
                        page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)
                results[label] = vals
                print(f"{a.tag}: {label}: " + ", ".join(f"{v:.2f} s" for v in vals), flush=True)
            browser.close()
        if a.log:
            with open(a.log, "a") as fh:
                fh.write(json.dumps({"tag": a.tag, "busy": a.busy, "run": os.path.basename(a.run), "seconds": results,
                                     "cpus": os.cpu_count(), "machine": platform.processor() or platform.machine(),
                                     "date": time.strftime("%Y-%m-%d %H:%M")}) + "\n")
    finally:
        server.terminate()
        if spinner is not None:
            spinner.kill()


if __name__ == "__main__":
    main()
