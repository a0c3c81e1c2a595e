"""Train: any registered model on the current dataset, with live loss curves, pause and stop."""
import json

import streamlit as st

from vdae_core import api
from vdae_core.foundation.errors import UserInputError
from vdae_core.pipeline import presets
from vdae_core.ui import cache, forms, frame, jobs, nav, state, widgets
from vdae_core.viz.curves import loss_curves

ss = st.session_state
frame.ensure_routed("train")
st.title("Train")
state.show_flashes()

job = jobs.get_job()
jobs.render_interrupted()

models = [m for m in api.MODELS.names() if api.MODELS.tags(m).get("listed", True)]  # not imported codes
if ss["model"] not in models:
    st.warning(f"Unknown model `{ss['model']}` in the link; using `{models[0]}`.")
    state.set_selection(model=models[0])

cfg = state.data_config_dict()
try:  # the points training will see: an image set or upload may hold fewer than the n asked for
    n_points = f"{cache.dataset(cfg).n:,}"
except UserInputError:
    n_points = f"{ss['n']:,} (asked)"
st.markdown(f"**Data:** `{ss['dataset']}` · n = {n_points} · noise {ss['noise']:g} · seed {ss['seed']} — "
            "change it on the Data page.")
try:  # what latent_dim = 0 means on this data (models with a Euclidean latent of free size use it)
    st.caption(f"latent dim 0 (auto) means here: {cache.dataset(cfg).latent_dim_choice().reason}")
except UserInputError:
    pass
nav.link("data", "Data page", ":material/scatter_plot:")

c = st.columns([2, 1, 2])
c[0].selectbox("Model", models, index=models.index(ss["model"]), key=state.wkey("model"),
               format_func=lambda n: f"{n} — {api.MODELS.help(n)}",
               on_change=state.from_widget("model"))
c[1].number_input("Seed", 0, 2**31 - 1, int(ss["seed"]), step=1, key=state.wkey("seed"),
                  on_change=state.from_widget("seed", int),
                  help="Seeds the data sampling, the initialisation and every batch: same seed and same number of CPU "
                       "threads (kept in the run), same numbers on CPU; another thread count changes the last digits.")
model_cls = api.MODELS.get(ss["model"])
offered = presets.offered(ss["model"])
if ss.get("train.preset") not in offered:
    ss["train.preset"] = offered[0]
preset = c[2].radio("Preset", offered, horizontal=True, key="train.preset", format_func=presets.label,
                    help="Quick: a short training (for the VDAE, the live settings whose cost in quality is "
                         "measured, shown below). Studio defaults: the settings measured best here "
                         "(docs/METHODS.md lists every departure from the paper). Paper: the paper's architecture and "
                         "loss weighting, literally. You can edit every field.")
if preset == "paper" or (preset == "defaults" and model_cls.config_class.PAPER_SOURCE
                         and not model_cls.config_class.PAPER):
    st.caption(f"Paper preset — {model_cls.config_class.PAPER_SOURCE}.")
if preset == "quick" and model_cls.config_class.LIVE:
    widgets.live_preset_table(model_cls.config_class)
values = presets.compose(ss["model"], preset, scale=jobs.demo_scale() if preset in ("quick", "live") else 1.0)
busy = job is not None and job.active
# Enter in a field does not submit: only the button starts a training (a stray Enter started runs twice).
with st.form("train.form", border=True, enter_to_submit=False):
    st.markdown(f"**{model_cls.config_class.__name__}** — hover a field's (?) for what it does.")
    raw = forms.config_form(model_cls.config_class, key=f"cfg.{ss['model']}.{preset}", values=values)
    go = st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:", disabled=busy)
if job is not None:  # right under the button that started it, so the progress is where the eye is
    st.subheader(f"Training {job.label}")
    jobs.render(detailed=True)
if busy:
    st.caption("One training at a time per browser session: "
               + ("cancel the queued one above." if job.status == "queued"
                  else "pause, stop or discard the current one above."))

if go:
    try:
        model_cls.config_class.from_dict(raw)  # validate ranges and choices first
        jobs.start_job(ss["model"], forms.changed(model_cls.config_class, raw), cfg, int(ss["seed"]),
                       preset=presets.short_label(preset))
    except (UserInputError, RuntimeError) as e:
        widgets.error_box(e, "cannot start")
    else:
        st.rerun()

with st.expander("How training works"):
    st.markdown(f"{model_cls.training_notes} Training runs on the server, not in this tab: it keeps going while "
                "you look at other pages or reload, and the sidebar shows its progress.")

infos = state.saved_runs()
info = state.active_run(infos)
if info is not None and (job is None or job.run_path != info.path):
    with st.expander(f"Training history of the active run: {state.run_label(info, infos)}"):
        try:
            run = cache.load_run(info.path)
        except UserInputError as e:
            widgets.error_box(e, "this run cannot be shown")
            st.stop()
        hist = run.history
        widgets.figure(loss_curves(hist.records, list(hist.records)), "train.history", f"{info.name}_losses")
        secs = ", ".join(f"{k} {v:.1f} s" for k, v in hist.phase_seconds.items())
        st.caption(f"Phases: {secs or 'n/a'}." + (f" {hist.message}." if hist.message else "")
                   + f" Config: `{json.dumps(run.model.config.to_dict())}`")
