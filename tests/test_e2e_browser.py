"""End to end in headless Chromium: the real server, a tiny training from Home, the random-walk page.

Screenshots go to ``test-artifacts/`` (gitignored). Skipped with a reason when Chromium or Playwright is
missing (CI installs Debian's ``chromium``); it always runs when ``/usr/bin/chromium`` exists.
"""
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARTIFACTS = os.path.join(ROOT, "test-artifacts")
CHROMIUM = os.environ.get("VDAE_CHROMIUM") or "/usr/bin/chromium"

pytestmark = pytest.mark.browser


def _chromium() -> str:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("no Chromium found (install it: apt-get install -y chromium)")
    return found


@contextlib.contextmanager
def _shot_on_failure(page, name: str):
    """Save a full-page screenshot ``test-artifacts/<name>`` when the block fails, then re-raise."""
    try:
        yield
    except Exception:
        os.makedirs(ARTIFACTS, exist_ok=True)
        page.screenshot(path=os.path.join(ARTIFACTS, name), full_page=True)
        raise


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    env = dict(os.environ, VDAE_RUNS_DIR=str(tmp_path_factory.mktemp("e2e_runs")), VDAE_DEMO_STEPS_SCALE="0.0625")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", os.path.join(ROOT, "app.py"),
                             "--server.headless", "true", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("the Streamlit server did not start: " + proc.stdout.read().decode(errors="replace")[-2000:])
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.slow  # 60 s; the default suite trains and draws the walks with AppTest (test_app_pages.py) and keeps a
# browser test (test_reload_reattaches_and_another_browser_sees_nothing)
def test_train_then_random_walks_in_chromium(server):
    exe = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    os.makedirs(ARTIFACTS, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--use-gl=swiftshader",
                                                                "--enable-webgl", "--ignore-gpu-blocklist"])
        ctx = browser.new_context(viewport={"width": 1500, "height": 1100})
        page = ctx.new_page()
        try:
            with _shot_on_failure(page, "e2e_failure.png"):
                page.goto(server)
                page.wait_for_selector("text=Device in use", timeout=90_000)
                page.get_by_text("Try it: torus + VDAE").click()
                page.wait_for_selector("text=Training vdae", timeout=60_000)
                page.wait_for_selector("text=It is now the active run", timeout=240_000)
                page.screenshot(path=os.path.join(ARTIFACTS, "e2e_train.png"), full_page=True)

                page.get_by_role("link", name="Random walks").first.click()
                # The two 3-D walk views are one figure in an embedded frame (their cameras are linked there).
                walk = page.frame_locator("iframe").first
                walk.locator("text=▶ Play").wait_for(timeout=120_000)
                walk.locator(".js-plotly-plot .gl-container canvas").first.wait_for(timeout=60_000)
                time.sleep(2)
                walk.locator("text=▶ Play").first.click()
                time.sleep(4)
                page.screenshot(path=os.path.join(ARTIFACTS, "e2e_walks.png"), full_page=False)
                page.screenshot(path=os.path.join(ARTIFACTS, "e2e_walks_full.png"), full_page=True)
                assert page.locator('[data-testid="stException"]').count() == 0
                assert walk.locator("text=learned walk (model)").count() >= 1
                # One camera: rotating the left scene moves the right one to the same eye.
                frame = next(f for f in page.frames if f != page.main_frame and f.query_selector(".js-plotly-plot"))
                cams = frame.evaluate("""() => new Promise(done => {
                    const gd = document.querySelector('.js-plotly-plot');
                    const eye = {x: 0.3, y: -2.1, z: 0.9};
                    Plotly.relayout(gd, {'scene.camera.eye': eye}).then(() => setTimeout(() => done(
                        [gd._fullLayout.scene.camera.eye, gd._fullLayout.scene2.camera.eye]), 300));
                })""")
                assert cams[0] == pytest.approx({"x": 0.3, "y": -2.1, "z": 0.9}) and cams[1] == pytest.approx(cams[0])
                assert frame.evaluate("() => !!document.querySelector('script[src$=\"/app/static/plotly.min.js\"]')")
                # The link reopens the same run and view in a fresh session of this browser (a new tab) ...
                link = page.url
                assert "run=" in link
                caption = page.get_by_text("Run vdae · torus · seed 0 ·").first.inner_text()
                tab = ctx.new_page()
                tab.goto(link)
                tab.frame_locator("iframe").first.locator("text=learned walk (model)").wait_for(timeout=120_000)
                assert tab.get_by_text(caption.split(" · latent")[0]).count() >= 1
                assert tab.locator('[data-testid="stException"]').count() == 0
                # ... and in another browser (another owner cookie): a run on a built-in dataset is shared by the
                # server, so the link opens the same run and view there too (runs on a user's upload are not: the
                # privacy tests).
                other = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()
                other.goto(link)
                other.frame_locator("iframe").first.locator("text=learned walk (model)").wait_for(timeout=120_000)
                other.screenshot(path=os.path.join(ARTIFACTS, "e2e_link_other_browser.png"))
                assert other.get_by_text(caption.split(" · latent")[0]).count() >= 1
                assert "dataset=torus" in page.url and "model=vdae" in page.url and "seed=0" in page.url
        finally:
            browser.close()
    assert os.path.getsize(os.path.join(ARTIFACTS, "e2e_walks.png")) > 10_000


def test_reload_reattaches_and_another_browser_sees_nothing(server):
    """The owner cookie: a reload of the same browser finds its training; a second browser (a fresh context,
    no cookie) does not."""
    exe = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        try:
            with _shot_on_failure(page, "e2e_reload_failure.png"):
                page.goto(server)
                page.wait_for_selector("text=Device in use", timeout=90_000)
                for _ in range(50):  # the cookie is set by a script element of the first render
                    cookie = [c for c in ctx.cookies() if c["name"] == "vdae_owner"]
                    if cookie:
                        break
                    time.sleep(0.2)
                assert len(cookie) == 1 and len(cookie[0]["value"]) == 32, ctx.cookies()
                page.get_by_text("Try it: torus + VDAE").click()
                page.wait_for_selector("text=Training vdae", timeout=60_000)
                page.reload()
                page.wait_for_selector("text=Training vdae", timeout=60_000)  # same job, re-attached
                page.wait_for_selector("text=It is now the active run", timeout=240_000)
                assert [c["value"] for c in ctx.cookies() if c["name"] == "vdae_owner"] == [cookie[0]["value"]]
                other = browser.new_context().new_page()
                other.goto(server + "/train")
                other.wait_for_selector("text=Start training", timeout=90_000)
                assert other.locator("text=Training vdae").count() == 0
        finally:
            browser.close()


def _run_in_url(page) -> str:
    """The ``run`` parameter of the page's address, read in the page (Playwright's ``page.url`` only
    follows history changes while the driver is called, not during a ``time.sleep``)."""
    return page.evaluate("() => new URLSearchParams(location.search).get('run') || ''")


def _run_line(page, title: str, run: str) -> str:
    """The run line of the page titled ``title`` once it names ``run``. The previous page's DOM stays on
    screen until the new page has drawn (and the address may already name the run), so both the title and
    the run are waited for; a page that keeps showing another run times out."""
    page.get_by_role("heading", name=title, exact=True).wait_for(timeout=120_000)
    loc = page.locator('[data-testid="stCaptionContainer"]', has_text="Run beta_vae").filter(has_text=run).first
    loc.wait_for(timeout=120_000)
    return loc.inner_text()


@pytest.mark.slow  # the default suite checks the same with AppTest (test_app_pages.py); this is the browser's view
def test_a_second_run_of_the_same_selection_is_what_every_page_shows(server):
    """Issue 28 in the browser: train beta_vae on the circle (seed 0) twice with different latent sizes; the
    second finishes while another page is on screen (the sidebar's job panel picks it up). Every page then
    shows the second run; Enter in a form field starts nothing; picking the first run in the sidebar brings
    every page back to it. Before the fix, the sidebar's previous run picker, still held by the browser,
    sent its old value with the next click and switched every page back to the first run."""
    exe = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()
        try:
            with _shot_on_failure(page, "e2e_second_run_failure.png"):
                page.goto(server + "/train?dataset=circle&model=beta_vae&seed=0")
                page.wait_for_selector("text=Start training", timeout=90_000)
                dim = page.locator('input[aria-label^="latent dim"]').first
                steps = page.locator('input[aria-label="steps"]').first

                page.get_by_role("button", name="Start training").click()
                page.wait_for_selector("text=It is now the active run", timeout=120_000)
                # the message can be drawn before the address names the run: wait for the address
                page.wait_for_function("() => new URLSearchParams(location.search).get('run')", timeout=60_000)
                first = _run_in_url(page)
                # Enter in a field of the form does not start a training
                dim.fill("1")
                dim.press("Enter")
                time.sleep(3)
                assert page.get_by_text("Running —").count() == 0 and _run_in_url(page) == first
                steps.fill("500")  # long enough to finish while another page is on screen (about 8 s)
                page.get_by_role("button", name="Start training").click()
                page.wait_for_selector("text=Running —", timeout=60_000)
                page.get_by_role("link", name="Latent space").first.click()
                deadline = time.time() + 180
                while time.time() < deadline and _run_in_url(page) == first:  # the finished job switches the run
                    page.wait_for_timeout(500)
                second = _run_in_url(page)
                assert second != first
                time.sleep(2)

                def every_page_shows(run: str, latent: str) -> None:
                    for name in ("Topology audit", "Random walks", "Bi-Lipschitz", "Latent space"):
                        page.get_by_role("link", name=name).first.click()
                        page.wait_for_url(f"**run={run}**", timeout=60_000)
                        line = _run_line(page, name, run)
                        assert run in line and latent in line, (name, line)
                        assert page.locator('[data-testid="stException"]').count() == 0
                        time.sleep(1)

                every_page_shows(second, "latent_dim 1")
                page.screenshot(path=os.path.join(ARTIFACTS, "e2e_second_run.png"), full_page=False)
                # back to the first run through the sidebar's picker
                page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
                page.get_by_role("option", name="latent_dim 2").first.click()
                page.wait_for_url(f"**run={first}**", timeout=60_000)
                every_page_shows(first, "latent_dim 2")
                page.screenshot(path=os.path.join(ARTIFACTS, "e2e_first_run_again.png"), full_page=False)
        finally:
            browser.close()


@pytest.mark.slow  # the default suite runs the lessons with AppTest (test_lessons_page.py, test_lessons.py)
def test_every_lesson_runs_and_every_answer_opens_in_chromium(server):
    """Issue 33: walk every lesson of the Lessons page at 1280×720 — run it, open its answer, check the figure
    drew and no error shows — then open one in the studio."""
    from vdae_core.lessons import lessons

    exe = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--use-gl=swiftshader",
                                                                "--enable-webgl", "--ignore-gpu-blocklist"])
        page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
        try:
            for lesson in lessons():
                with _shot_on_failure(page, f"e2e_lesson_{lesson.key}_failure.png"):
                    page.goto(f"{server}/lessons?lesson={lesson.key}")
                    page.get_by_role("heading", name=lesson.title).wait_for(timeout=90_000)
                    run = page.get_by_role("button", name="Run this lesson")
                    answer = page.get_by_text("Answer (measured on these runs)")
                    run.or_(answer).first.wait_for(timeout=60_000)  # a lesson run before opens without a click
                    if run.count():
                        run.click()
                    answer.wait_for(timeout=180_000)
                    # the script run ends (status widget gone) before the click, so no redraw folds it again
                    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                                           timeout=120_000)
                    runs_line = page.get_by_text("Runs:", exact=False).first
                    for _ in range(5):  # a click that lands while the page is still being drawn can be lost
                        answer.click()
                        try:
                            runs_line.wait_for(timeout=6_000)
                            break
                        except sync_api.TimeoutError:
                            continue
                    runs_line.wait_for(timeout=6_000)
                    # the figure drew: a plotly chart in the page, or the linked-camera frame of 3-D panels
                    page.wait_for_function("() => document.querySelector('.js-plotly-plot') || "
                                           "document.querySelector('iframe')", timeout=60_000)
                    assert page.locator('[data-testid="stException"]').count() == 0
                    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
                    page.screenshot(path=os.path.join(ARTIFACTS, f"e2e_lesson_{lesson.key}.png"), full_page=True)
            page.get_by_role("button", name="Open in the studio").click()
            page.wait_for_url("**/latent**", timeout=60_000)  # the last lesson opens its run on the Latent page
            page.get_by_role("heading", name="Latent space").wait_for(timeout=120_000)
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            browser.close()


@pytest.mark.slow  # 22 s; its switch and layout rules have AppTest twins in tests/test_presentation.py (default suite)
def test_presentation_mode_puts_each_pages_main_figure_above_the_fold(server):
    """Issue 33 (item 5): with ``present=1`` at 1280×720, every page's first figure starts on the first screen
    (at least 150 px of it visible without scrolling), and the mode follows the user from page to page."""
    exe = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    first_figure = """() => {
        const el = document.querySelector('[data-testid="stPlotlyChart"], iframe[title="st.iframe"], '
                                          + '[data-testid="stIFrame"], iframe');
        if (!el) { return null; }
        const r = el.getBoundingClientRect();
        return r.height > 50 ? r.top : null;
    }"""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--use-gl=swiftshader",
                                                                "--enable-webgl", "--ignore-gpu-blocklist"])
        page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
        try:
            with _shot_on_failure(page, "e2e_present_failure.png"):
                page.goto(f"{server}/lessons?lesson=gaussian_tears&present=1")
                run = page.get_by_role("button", name="Run this lesson")
                answer = page.get_by_text("Answer (measured on these runs)")
                run.or_(answer).first.wait_for(timeout=90_000)
                if run.count():
                    run.click()
                answer.wait_for(timeout=180_000)
                page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                                       timeout=120_000)
                for _ in range(3):  # the 1-D β-VAE's audit (a click while the page redraws can be lost)
                    page.get_by_role("button", name="Open in the studio").click()
                    try:
                        page.wait_for_url("**/audit**", timeout=20_000)
                        break
                    except sync_api.TimeoutError:
                        continue
                page.get_by_role("heading", name="Topology audit").wait_for(timeout=120_000)
                tops = {}
                for name in ("Lessons", "Data", "Latent space", "Random walks", "Bi-Lipschitz", "Topology audit"):
                    page.get_by_role("link", name=name).first.click()
                    page.get_by_role("heading", name=name).first.wait_for(timeout=120_000)
                    page.wait_for_function(f"() => ({first_figure})() !== null", timeout=120_000)
                    time.sleep(1.5)  # the page settles (late elements above the figure would push it down)
                    tops[name] = page.evaluate(first_figure)
                    assert page.locator('[data-testid="stException"]').count() == 0, name
                    assert "present=1" in page.url, (name, page.url)
                    page.screenshot(path=os.path.join(ARTIFACTS, f"e2e_present_{name.split()[0].lower()}.png"))
                assert all(t is not None and t < 720 - 150 for t in tops.values()), sorted(tops.items())
        finally:
            browser.close()
