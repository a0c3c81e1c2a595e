"""App benchmarks: cold start to the first rendered page, and the random-walk figure (size, frame rate).

    python benchmarks/bench_app.py [--repeats 3] [--out /tmp/bench_app.md]   (results are kept in docs/BENCHMARKS.md)

1. Cold start: spawn ``streamlit run app.py --server.headless true`` (a fresh process each time) and time
   until the Home page's title is visible in headless Chromium (the browser is already running; it
   polls the URL until the server answers). Also the time until the whole Home page is drawn (its last
   line names the compute device, which needs torch).
2. The walk figure of the Random walks page for 200 walkers x 30 steps on the 3,485-vertex bunny: a tiny
   VDAE is trained on the bunny, the page's own computation (``diagnostics.compare_walks``) and figure
   builder (``viz.walks.walk_animation``) run, and the figure's JSON is measured.
3. The same page in the running app, in Chromium: press Play and record when each new step appears on
   the figure's slider (polled every animation frame); the intervals against the requested 200 ms show
   whether playback stutters.
   Headless Chromium renders WebGL in software (SwiftShader) here, a worst case for a desktop browser.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
CHROMIUM = os.environ.get("VDAE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--use-gl=swiftshader", "--enable-webgl", "--ignore-gpu-blocklist"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(runs_dir: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, VDAE_RUNS_DIR=runs_dir)
    return subprocess.Popen([sys.executable, "-m", "streamlit", "run", os.path.join(ROOT, "app.py"),
                             "--server.headless", "true", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def cold_start(browser, runs_dir: str) -> dict:
    port = free_port()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    t0 = time.perf_counter()
    proc = start_server(runs_dir, port)
    try:
        while True:
            try:
                page.goto(f"http://127.0.0.1:{port}/", timeout=2000)
                break
            except Exception:
                if time.perf_counter() - t0 > 60:
                    raise
                time.sleep(0.05)
        t_http = time.perf_counter() - t0
        page.get_by_text("VDAE Studio", exact=True).first.wait_for(timeout=60_000)
        t_title = time.perf_counter() - t0
        page.wait_for_selector("text=Device in use", timeout=60_000)
        t_full = time.perf_counter() - t0
    finally:
        page.close()
        stop(proc)
    return {"http": t_http, "first_content": t_title, "home_complete": t_full}


def bunny_run(runs_dir: str) -> str:
    from vdae_core.api import DataConfig, save_run, train_run

    run = train_run("vdae", DataConfig(dataset="bunny", n=2000, seed=0),
                    dict(spectral_steps=100, vae_steps=200, hidden=64, depth=2, spectral_batch=512, batch_size=256),
                    seed=0, device="cpu")
    return save_run(run, os.path.join(runs_dir, "bunny_vdae_s0_bench"))


def walk_figure(run_path: str) -> dict:
    from vdae_core.study.diagnostics import compare_walks
    from vdae_core.pipeline.runs import load_run
    from vdae_core.viz.export import figure_json_size
    from vdae_core.viz.walks import WalkPanel, walk_animation

    run = load_run(run_path)
    mesh = run.dataset.mesh
    t = time.perf_counter()
    wc = compare_walks(run.model, mesh.vertices, mesh.faces, 0, 200, 30, seed=0)
    t_walk = time.perf_counter() - t
    t = time.perf_counter()
    fig = walk_animation([WalkPanel("learned", wc.learned), WalkPanel("true", wc.truth, "#2e86ab")],
                         mesh=(mesh.vertices, mesh.faces), trail=5, start=wc.start)
    size = figure_json_size(fig)
    t_fig = time.perf_counter() - t
    return {"vertices": int(len(mesh.vertices)), "faces": int(len(mesh.faces)), "walkers": 200, "steps": 30,
            "frames": len(fig.frames), "json_bytes": size, "walk_seconds": t_walk, "figure_seconds": t_fig,
            "substeps": wc.substeps}


FRAME_JS = """
() => new Promise((resolve) => {
  // Poll the slider's 'step N' label every animation frame: when it changes a new step is on screen.
  // The requestAnimationFrame intervals themselves show whether the page janks while playing.
  const out = {steps: [], raf: []};
  let last = null;
  const t0 = performance.now();
  function tick(t) {
    out.raf.push(t);
    const el = document.querySelector('.js-plotly-plot .slider-group > .slider-label');
    const txt = el ? el.textContent : null;
    if (txt !== last) { out.steps.push([t, txt]); last = txt; }
    if (t - t0 < 9000) requestAnimationFrame(tick); else resolve(out);
  }
  requestAnimationFrame(tick);
})
"""


def playback(browser, runs_dir: str) -> dict:
    port = free_port()
    proc = start_server(runs_dir, port)
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    try:
        url = f"http://127.0.0.1:{port}/walks?dataset=bunny&model=vdae&seed=0"
        t0 = time.perf_counter()
        while True:
            try:
                page.goto(url, timeout=2000)
                break
            except Exception:
                if time.perf_counter() - t0 > 60:
                    raise
                time.sleep(0.1)
        page.wait_for_selector("text=▶ Play", timeout=120_000)
        page.wait_for_selector(".js-plotly-plot .gl-container canvas", timeout=60_000)
        t_page = time.perf_counter() - t0
        time.sleep(1.5)
        page.evaluate("() => { window.__vdaeRec = (" + FRAME_JS + ")(); return true; }")  # starts recording
        page.locator("text=▶ Play").first.click()
        rec = page.evaluate("() => window.__vdaeRec")  # waits for the recording to end
    finally:
        page.close()
        stop(proc)
    steps = rec["steps"][1:]  # the first entry is the label before Play took effect
    times = [t for t, _ in steps]
    raf = rec["raf"]
    raf_gaps = [b - a for a, b in zip(raf, raf[1:])]
    gaps = [b - a for a, b in zip(times, times[1:])]
    return {"page_ready": t_page, "frames_played": len(times), "requested_ms": 200,
            "mean_ms": statistics.mean(gaps) if gaps else float("nan"),
            "p95_ms": sorted(gaps)[int(0.95 * (len(gaps) - 1))] if gaps else float("nan"),
            "max_ms": max(gaps) if gaps else float("nan"),
            "late_frames": sum(g > 400 for g in gaps),
            "last_step": steps[-1][1] if steps else None,
            "raf_mean_ms": statistics.mean(raf_gaps) if raf_gaps else float("nan"),
            "raf_max_ms": max(raf_gaps) if raf_gaps else float("nan")}


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            mem = f"{int(fh.readline().split()[1]) / 2**20:.0f} GiB RAM"
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    import plotly
    import streamlit
    import torch

    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{cpu}, {os.cpu_count()} cores, {mem}; {platform.system()} {platform.release()}; Python "
            f"{platform.python_version()}, streamlit {streamlit.__version__}, plotly {plotly.__version__}, "
            f"torch {torch.__version__}; {chromium}; 1-min load average at start {load:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=os.path.join("/tmp", "bench_app.md"))
    a = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from playwright.sync_api import sync_playwright

    info = machine()
    runs_dir = tempfile.mkdtemp(prefix="vdae_bench_runs_")
    empty_dir = tempfile.mkdtemp(prefix="vdae_bench_empty_")
    results = {"machine": info}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        cold = [cold_start(browser, empty_dir) for _ in range(a.repeats)]
        results["cold_start"] = cold
        print("cold start:", json.dumps(cold))
        path = bunny_run(runs_dir)
        results["walk_figure"] = walk_figure(path)
        print("walk figure:", json.dumps(results["walk_figure"]))
        results["playback"] = playback(browser, runs_dir)
        print("playback:", json.dumps(results["playback"]))
        browser.close()
    shutil.rmtree(runs_dir, ignore_errors=True)
    shutil.rmtree(empty_dir, ignore_errors=True)
    write(results, a.out)


def write(r: dict, out: str) -> None:
    cs = r["cold_start"]
    first = [c["first_content"] for c in cs]
    full = [c["home_complete"] for c in cs]
    wf, pb = r["walk_figure"], r["playback"]
    lines = [
        "# App benchmarks",
        "",
        "Measured by `python benchmarks/bench_app.py` (see its docstring for the method).",
        "",
        f"Machine: {r['machine']}.",
        "",
        "## Cold start to the first rendered page",
        "",
        "A fresh `streamlit run app.py --server.headless true` process per repeat; time from spawning it until",
        "the Home page's title is visible in headless Chromium (target: at most 5 s), and until the whole Home",
        "page is drawn (its last line, the compute device, imports torch).",
        "",
        "| repeat | server answers (s) | first content (s) | Home complete (s) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {i + 1} | {c['http']:.2f} | {c['first_content']:.2f} | {c['home_complete']:.2f} |"
              for i, c in enumerate(cs)]
    lines += [
        "",
        f"Median first content **{statistics.median(first):.2f} s** (max {max(first):.2f} s); median Home complete "
        f"{statistics.median(full):.2f} s.",
        "",
        "## Random-walk figure: 200 walkers x 30 steps on the bunny",
        "",
        f"Mesh {wf['vertices']:,} vertices / {wf['faces']:,} faces; learned walk and true mesh walk in one figure "
        f"with {wf['frames']} client-side frames (trail 5).",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| figure JSON | **{wf['json_bytes'] / 2**20:.2f} MB** ({wf['json_bytes']:,} bytes; budget 5 MB) |",
        f"| frames | {wf['frames']} |",
        f"| walks computed (model + mesh graph, TV curves) | {wf['walk_seconds']:.2f} s |",
        f"| figure built and serialised | {wf['figure_seconds']:.2f} s |",
        f"| graph steps per displayed true step (auto-matched) | {wf['substeps']} |",
        "",
        "## Playback in the browser",
        "",
        "The Random walks page of the running app (the bunny run above) in headless Chromium, which renders WebGL",
        "in software here (SwiftShader): Play pressed, and the time at which each new step appears on the",
        "slider recorded every animation frame. \"Page ready\" counts from opening the URL on a freshly started",
        "server: it includes importing torch, loading the run and computing the walks.",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| page ready (figure drawn) after opening the URL | {pb['page_ready']:.2f} s |",
        f"| frames played | {pb['frames_played']} |",
        f"| requested frame duration | {pb['requested_ms']} ms |",
        f"| mean / p95 / max interval | {pb['mean_ms']:.0f} / {pb['p95_ms']:.0f} / {pb['max_ms']:.0f} ms |",
        f"| frames later than 2x the requested duration | {pb['late_frames']} |",
        f"| last step shown | {pb['last_step']} |",
        f"| browser animation-frame interval, mean / max | {pb['raf_mean_ms']:.0f} / {pb['raf_max_ms']:.0f} ms |",
        "",
    ]
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as fh:
        fh.write("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
