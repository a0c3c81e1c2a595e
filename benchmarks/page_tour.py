"""Every page of the studio in headless Chromium, screenshotted, on a fresh server with one trained run.

    python benchmarks/page_tour.py [--out test-artifacts/tour] [--chromium /usr/bin/chromium]

Starts the app on a free port with an empty runs folder, clicks Home's *Try it* (torus + VDAE, live preset),
waits for the saved run, then opens Data, Train, Latent space, Random walks, Bi-Lipschitz, Topology audit and
Compare from the sidebar, waits for each to settle (no script run, no spinner), and saves a 1440 × 2200 screenshot of each
(``NN_<page>.png``). It also reports, per page, whether Streamlit showed an exception, and on the Random walks
page whether the two 3-D scenes share their camera after one is rotated. Not a test: a look at what a user sees.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.bench_common import free_port, wait_for_server  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["Data", "Train", "Latent space", "Random walks", "Bi-Lipschitz", "Topology audit", "Audit any map", "Compare"]

CAMERA_CHECK = """() => new Promise((done, fail) => {
    setTimeout(() => fail(new Error('no answer in 10 s')), 10000);
    const gd = document.querySelector('.js-plotly-plot');
    Plotly.relayout(gd, {'scene.camera.eye': {x: 0.3, y: -2.1, z: 0.9}}).then(() => setTimeout(() => done(
        [gd._fullLayout.scene.camera.eye, gd._fullLayout.scene2.camera.eye]), 300));
})"""


#: Viewport position of the first code plotly drew on the axes of the first scatter of 100+ points.
FIRST_POINT_XY = """() => {
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
        const tr = gd._fullData && gd._fullData[0], fl = gd._fullLayout;  // decoded (gd.data keeps plotly's binary form)
        if (!tr || !tr.x || tr.x.length < 100 || !fl || !fl.xaxis || !fl.xaxis.c2p) continue;
        const r = gd.getBoundingClientRect();
        for (let i = 0; i < tr.x.length; i++) {  // a point plotly placed inside the plot area
            const x = fl.xaxis.c2p(tr.x[i]), y = fl.yaxis.c2p(tr.y[i]);
            if (isFinite(x) && isFinite(y) && x > 5 && y > 5 && x < fl._size.w - 5 && y < fl._size.h - 5)
                return [r.left + fl._size.l + x, r.top + fl._size.t + y];
        }
    }
    return null;
}"""


def settle(page, seconds=60):
    """Wait until Streamlit has stopped running the script and no spinner is left (a page's slow parts run
    in fragments with spinners), then a little more."""
    deadline = time.time() + seconds
    time.sleep(1.5)
    while time.time() < deadline and (page.locator('[data-testid="stStatusWidget"]').count()
                                      or page.locator('[data-testid="stSpinner"]').count()):
        time.sleep(0.5)
    time.sleep(2.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "test-artifacts", "tour"))
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    os.makedirs(a.out, exist_ok=True)
    port = free_port()
    runs = tempfile.mkdtemp(prefix="vdae-tour-")
    env = dict(os.environ, VDAE_RUNS_DIR=runs)
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", os.path.join(ROOT, "app.py"), "--server.headless",
                             "true", "--server.port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    report = []
    try:
        wait_for_server(url)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=a.chromium, args=["--no-sandbox", "--use-gl=swiftshader",
                                                                          "--enable-webgl", "--ignore-gpu-blocklist"])
            page = browser.new_page(viewport={"width": 1440, "height": 2200})  # tall: the app scrolls inside
            page.goto(url)
            page.wait_for_selector("text=Device in use", timeout=90_000)
            page.get_by_text("Try it: torus + VDAE").click()
            page.wait_for_selector("text=It is now the active run", timeout=240_000)
            settle(page)
            page.screenshot(path=os.path.join(a.out, "00_home.png"), full_page=True)
            report.append({"page": "Home", "exception": page.locator('[data-testid="stException"]').count() > 0})
            for i, name in enumerate(PAGES, 1):
                page.get_by_role("link", name=name).first.click()
                settle(page, 120)
                row = {"page": name, "exception": page.locator('[data-testid="stException"]').count() > 0}
                if name == "Latent space":  # click the first code of the 2-D view: the point inspector opens
                    plot = page.locator('[data-testid="stPlotlyChart"]').first
                    plot.scroll_into_view_if_needed()
                    time.sleep(1)
                    xy = page.evaluate(FIRST_POINT_XY)
                    row["click_at"] = xy
                    if xy:
                        # plotly picks the clicked point from its hover state: move there, let the hover settle,
                        # then press (a click straight after the move comes before the hover and selects nothing)
                        page.mouse.move(*xy)
                        time.sleep(0.5)
                        page.mouse.down()
                        page.mouse.up()
                    settle(page, 60)
                    row["inspector_opened"] = page.locator("text=data neighbours kept among the codes").count() > 0
                    if row["inspector_opened"]:
                        page.locator("text=data neighbours kept among the codes").first.scroll_into_view_if_needed()
                        page.screenshot(path=os.path.join(a.out, f"{i:02d}_latent_space_inspector.png"))
                if name == "Audit any map":  # its example: a circle and its angle
                    page.get_by_role("button", name="Try it: circle").click()
                    settle(page, 60)
                    row["map_audited"] = page.locator("text=In short").count() > 0
                if name == "Random walks":
                    frame = None
                    for _ in range(60):
                        frame = next((f for f in page.frames if f != page.main_frame and f.query_selector(".js-plotly-plot")), None)
                        if frame:
                            break
                        time.sleep(1)
                    row["walk_frame_found"] = frame is not None
                    page.screenshot(path=os.path.join(a.out, f"{i:02d}_random_walks_before_rotation.png"))
                    if frame:
                        time.sleep(2)
                        try:
                            eyes = frame.evaluate(CAMERA_CHECK)
                            row["cameras_linked"] = eyes[0] == eyes[1]
                        except Exception as e:  # noqa: BLE001 (reported, the tour goes on)
                            row["camera_check_error"] = str(e)[:300]
                        time.sleep(1)
                page.screenshot(path=os.path.join(a.out, f"{i:02d}_{name.lower().replace(' ', '_')}.png"),
                                full_page=True)
                report.append(row)
                print(json.dumps(row), flush=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    print(json.dumps({"screenshots": a.out, "pages": len(report),
                      "exceptions": [r["page"] for r in report if r["exception"]]}))


if __name__ == "__main__":
    main()
