"""Issue 15: how long a display-only control takes to reach the screen on the Random walks page.

    python benchmarks/bench_display.py --run RUN_FOLDER [--app-dir DIR] [--busy] [--log docs/bench_display_log.jsonl]

Starts the studio on a saved run (a bunny VDAE: a mesh, two animated 3-D walks), opens the Random walks page in
headless Chromium, waits until the walks are computed and drawn, then moves a slider one notch with the keyboard
and times the rerun twice: on the screen (key press to the page's last change, by a MutationObserver) and on the
server (the script or fragment runs the app logs when ``VDAE_TIMING_LOG`` is set; an older checkout logs none). Display-only controls (trail, ms / frame, up axis) against a control that recomputes (walkers). ``--app-dir``
runs another checkout of the app (a baseline) on the same run; ``--busy`` keeps another process spinning on a core.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from bench_common import free_port, start_busy, stop_busy, wait_for_server  # noqa: E402  (this script's folder is on sys.path)


OBSERVE = """() => {
  window.__lastMut = performance.now();
  if (!window.__obs) {
    window.__obs = new MutationObserver(() => { window.__lastMut = performance.now(); });
    window.__obs.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
  }
  return performance.now();
}"""


def log_lines(path):
    try:
        with open(path) as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except OSError:
        return []


def interact(page, label: str, key: str, log_path: str, quiet_ms: float = 1200):
    """Change the control called ``label`` (a slider by one notch with ``key``; the up axis by a click on "y" or
    "z") and return (screen seconds: key press to the last change of the page, server seconds: the script or
    fragment runs the app logged for it, or None for an app that logs none)."""
    before = len(log_lines(log_path))
    if label.startswith("up axis"):
        widget = (page.locator('[data-testid="stRadio"]').filter(has_text="up axis")
                  .get_by_text(label.split(":")[1], exact=True).first)
    else:
        widget = (page.locator('[data-testid="stSlider"]').filter(has_text=label).first
                  .get_by_role("slider").first)
        widget.focus()
    t0 = page.evaluate(OBSERVE)
    widget.click() if label.startswith("up axis") else page.keyboard.press(key)
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.1)
        now, last = page.evaluate("() => [performance.now(), window.__lastMut]")
        busy = page.locator('[data-testid="stStatusWidget"]').count() > 0
        if not busy and now - last > quiet_ms and now - t0 > quiet_ms:
            break
    screen = (last - t0) / 1000
    new = log_lines(log_path)[before:]
    pages = [e["seconds"] for e in new if e["what"].startswith("page:")]  # a page run includes its fragments
    server = (sum(pages) if pages else sum(e["seconds"] for e in new)) if new else None
    return screen, server, [e["what"] for e in new]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--app-dir", default=ROOT)
    ap.add_argument("--busy", action="store_true")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--log", default=None)
    ap.add_argument("--tag", default="working tree")
    ap.add_argument("--controls", default="trail,walkers",
                    help="which controls to time: trail, ms / frame, up axis:y, up axis:z (the last three are page "
                         "widgets only before issue 15 moved them into the figure), walkers")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    runs_dir = os.path.dirname(os.path.abspath(a.run))
    port = free_port()
    log_path = os.path.join(runs_dir, f".timing_{port}.jsonl")
    env = dict(os.environ, VDAE_RUNS_DIR=runs_dir, PYTHONPATH=a.app_dir, VDAE_TIMING_LOG=log_path)
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                               "--server.port", str(port), "--browser.gatherUsageStats", "false"], cwd=a.app_dir,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    spinner = start_busy() if a.busy else None
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(url)
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
            for label in a.controls.split(","):
                vals = []
                for i in range(a.reps):
                    if label == "up axis:y" and i:  # back to z before trying y again
                        interact(page, "up axis:z", "", log_path)
                    if label == "up axis:z" and i:
                        interact(page, "up axis:y", "", log_path)
                    vals.append(interact(page, label, "ArrowRight" if i % 2 == 0 else "ArrowLeft", log_path))
                results[label] = [{"screen": v[0], "server": v[1], "runs": v[2]} for v in vals]
                print(f"{a.tag}: {label}: " + ", ".join(
                    f"screen {v[0]:.2f} s / server " + ("–" if v[1] is None else f"{v[1]:.2f} s") + f" {v[2]}"
                    for v in vals), flush=True)
            browser.close()
        if a.log:
            with open(a.log, "a") as fh:
                fh.write(json.dumps({"tag": a.tag, "busy": a.busy, "run": os.path.basename(a.run), "seconds": results,
                                     "cpus": os.cpu_count(), "machine": platform.processor() or platform.machine(),
                                     "date": time.strftime("%Y-%m-%d %H:%M")}) + "\n")
    finally:
        server.terminate()
        stop_busy(spinner)


if __name__ == "__main__":
    main()
