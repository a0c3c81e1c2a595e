"""VDAE Studio: ``streamlit run app.py``.

The entry point is the router (st.navigation) and the Home page. It imports nothing heavy before the
page content is on screen: torch and the models load when first needed (the device line, a page that
trains or analyses), and a background thread warms them up after the first render.
"""
import os
import time

_STARTED = time.perf_counter()  # this script run's server time, for benchmarks/bench_display.py

# Before torch loads: OpenMP threads that sleep instead of spin when idle. On a busy machine (other
# processes, several sessions training) spinning threads slowed training more than tenfold.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st  # noqa: E402

# The favicon is a local file: a material icon as page_icon is fetched from Google's font CDN (the app runs offline).
st.set_page_config(page_title="VDAE Studio", layout="wide",
                   page_icon=os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", "favicon.png"))

from vdae_core.ui import frame, nav, state  # noqa: E402  (light imports only)

frame.begin()


def home() -> None:
    from vdae_core.ui import jobs, widgets

    st.title("VDAE Studio")
    state.show_flashes()
    st.markdown(
        "Train small generative models on manifolds, meshes and image sets, and **see** whether what they "
        "learned respects the data's shape: latent spaces coloured by the true coordinates, random walks "
        "animated on 3-D meshes next to the true diffusion walk, per-point bi-Lipschitz heatmaps, and metric "
        "tables across models and seeds. The method is the *Variational Diffusion Autoencoder* (VDAE): a "
        "SpectralNet learns the diffusion map ψ, then a covariance network and a decoder learn a random walk "
        "that stays on the data manifold.")
    c1, c2 = st.columns([3, 2], gap="large")
    with c1:
        st.subheader("Try it")
        st.markdown("One click trains a VDAE on a torus (2,000 points, the Quick preset) right here, then the "
                    "Train page shows the loss curves live, with the time left. "
                    + jobs.demo_time_text(state.saved_runs()))
        job = jobs.get_job()
        busy = job is not None and job.active
        if st.button("Try it: torus + VDAE", type="primary", icon=":material/play_arrow:", disabled=busy,
                     key="home.try", help="A training of this session is already queued or running." if busy else None):
            from vdae_core.foundation.errors import UserInputError

            state.set_selection(upload_path=None, **jobs.DEMO_DATA, model=jobs.DEMO_MODEL, seed=0)
            try:
                jobs.start_job(jobs.DEMO_MODEL, jobs.demo_overrides(jobs.DEMO_MODEL), state.data_config_dict(), 0,
                               preset=jobs.quick_preset_name(jobs.DEMO_MODEL))
            except (UserInputError, RuntimeError) as e:
                widgets.error_box(e)
            else:
                st.switch_page(nav.page("train"))
        st.page_link(nav.page("lessons"), label="New here, or teaching? Seven guided lessons, one click each",
                     icon=":material/school:")
        st.markdown(
            "**The views.** *Data*: pick or upload a dataset, see it next to its exact diffusion map. *Train*: "
            "any model, live losses, pause/stop. *Latent space*: codes coloured by the ground truth, t-SNE/UMAP "
            "of generated vs real. *Random walks*: learned walkers animated on the mesh beside the true "
            "diffusion walk. *Bi-Lipschitz*: where the decoder stretches or folds. *Topology audit*: the holes of "
            "data, codes and samples, prior holes, tears and folds, and how stable they are over seeds. "
            "*Compare*: metrics across saved runs. Every figure downloads as HTML, every table as CSV.")
    with c2:
        st.subheader("Saved runs")
        infos = state.saved_runs()
        st.caption("Runs on built-in datasets are shared with everyone using this studio; runs on your uploads "
                   "are private to this browser.")
        lost = jobs.interrupted_jobs()
        if lost:
            st.warning(f"{len(lost)} of your trainings {'was' if len(lost) == 1 else 'were'} interrupted when the "
                       "server stopped; nothing of {0} was saved. Retrain or dismiss on the Train page."
                       .format("it" if len(lost) == 1 else "them"), icon=":material/restart_alt:")
        if not infos:
            st.caption(f"None yet under `{state.runs_root()}`.")
        else:
            import pandas as pd

            df = pd.DataFrame([{"model": r.model, "dataset": r.dataset, "seed": r.seed, "D": r.latent_dim,
                                "n": r.n, "saved": r.saved, "train s": round(r.train_seconds, 1),
                                "folder": r.name} for r in infos])
            widgets.table(df, "home.runs", "saved_runs", height=min(300, 40 + 35 * len(df)))
            labels = state.run_labels(infos)
            pick = st.selectbox("Reopen", [r.path for r in infos], key="home.pick", format_func=labels.get)
            b1, b2 = st.columns(2)
            if b1.button("Open", key="home.open", icon=":material/open_in_new:"):
                state.select_run(pick)
                st.switch_page(nav.page("latent"))
            with b2:
                widgets.run_zip_button(pick, "home")
    with st.spinner("Detecting the compute device…"):
        from vdae_core.ui import cache

        st.caption(f"Device in use: **{cache.device_line()}** · runs folder: `{state.runs_root()}`")


PAGES = {
    "home": st.Page(home, title="Home", icon=":material/home:", default=True),
    "lessons": st.Page("pages/lessons.py", title="Lessons", icon=":material/school:", url_path="lessons"),
    "data": st.Page("pages/data.py", title="Data", icon=":material/scatter_plot:", url_path="data"),
    "train": st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    "latent": st.Page("pages/latent.py", title="Latent space", icon=":material/bubble_chart:", url_path="latent"),
    "walks": st.Page("pages/walks.py", title="Random walks", icon=":material/timeline:", url_path="walks"),
    "bilipschitz": st.Page("pages/bilipschitz.py", title="Bi-Lipschitz", icon=":material/thermostat:",
                           url_path="bilipschitz"),
    "audit": st.Page("pages/audit.py", title="Topology audit", icon=":material/donut_large:", url_path="audit"),
    "map": st.Page("pages/map_audit.py", title="Audit any map", icon=":material/troubleshoot:", url_path="map"),
    "compare": st.Page("pages/compare.py", title="Compare", icon=":material/table_chart:", url_path="compare"),
}
nav.PAGES.clear()
nav.PAGES.update(PAGES)
current = st.navigation(list(PAGES.values()))
if st.session_state.get("_goto"):  # opened directly on a page URL of a fresh server: see frame.ensure_routed
    name, params = st.session_state.pop("_goto")
    st.switch_page(PAGES.get(name, PAGES["home"]), query_params=params)
frame.finish(current.url_path)
st.session_state["_framed"] = True  # tells the page (frame.ensure_routed) that the frame is drawn
try:
    current.run()
finally:
    st.session_state.pop("_framed", None)
    from vdae_core.ui import timing

    timing.record(f"page:{current.url_path or 'home'}", time.perf_counter() - _STARTED)

from vdae_core.ui import cache  # noqa: E402

cache.warm_up()
