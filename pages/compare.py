"""Compare: every saved run evaluated by the protocol (samples against held-out data, beside noise floors)."""
import pandas as pd
import streamlit as st

from vdae_core.compare import METRIC_COLUMNS, TABLE_METRICS, aggregate_metrics, floor_table
from vdae_core.evaluation import METRICS
from vdae_core.runs import read_cached_evaluation
from vdae_core.errors import UserInputError
from vdae_core.ui import cache, frame, nav, state, widgets
from vdae_core.viz.curves import metric_bars

ss = st.session_state
frame.ensure_routed("compare")
st.title("Compare")
state.show_flashes()
st.caption("Every saved run evaluated the same way (the CLI's `evaluate`). Generated points are judged against "
           "**held-out data** (fresh samples of a built-in dataset, or the held-out split of an upload), never the "
           "training set, and each number sits beside its **floor**: the same metric for independent samples of "
           "the data's own law. ⚑ i/n: i of n runs lie beyond 3 floor sds on the bad side. Bi-Lipschitz, "
           "trustworthiness and continuity judge the encoder/decoder maps (1 is best). ± is the std over seeds.")

infos = state.saved_runs()
if not infos:
    st.info("No saved runs yet: train some on the Train page (several seeds of the same model and dataset give the "
            "± columns).", icon=":material/info:")
    st.stop()

c = st.columns([2, 2, 1, 1, 1])
datasets = sorted({r.dataset for r in infos})
models = sorted({r.model for r in infos})
pick_d = c[0].multiselect("Datasets", datasets, default=datasets, key="cmp.datasets")
pick_m = c[1].multiselect("Models", models, default=models, key="cmp.models")
n_samples = c[2].select_slider("eval points", [250, 500, 1000, 2000], 500, key="cmp.n",
                               help="Data points evaluated and points generated per run.")
k = c[3].number_input("k", 2, 50, 10, key="cmp.k", help="Neighbours for bi-Lipschitz, trustworthiness, continuity.")
eval_seed = c[4].number_input("eval seed", 0, 2**31 - 1, 0, key="cmp.seed")
runs = [r for r in infos if r.dataset in pick_d and r.model in pick_m]
cached = {r.path: read_cached_evaluation(r.path, n_samples, k, eval_seed) for r in runs}
missing = [r for r in runs if cached[r.path] is None]

b = st.columns([2, 5])
go = b[0].button(f"Evaluate {len(missing)} run(s)" if missing else "All selected runs evaluated", type="primary",
                 disabled=not missing, key="cmp.go", icon=":material/play_arrow:")
b[1].caption(f"{len(runs)} run(s) selected; results are stored in each run folder (`ui_metrics.json`), so they are "
             "computed once.")
if go:
    bar = st.progress(0.0, text="Starting…")
    failed = []
    for i, r in enumerate(missing):
        bar.progress(i / len(missing), text=f"Evaluating {r.label} ({i + 1}/{len(missing)})…")
        try:
            cache.evaluation(r.path, n_samples, k, eval_seed)
        except UserInputError as e:
            failed.append(f"{r.name}: {e}")
    bar.progress(1.0, text="Done.")
    for f in failed:
        state.flash("error", f)
    st.rerun()  # redraw the button and tables with the new results

rows = []
for r in runs:
    s = cached[r.path]
    if s is None:
        continue
    rows.append({"dataset": r.dataset, "model": r.model, "seed": r.seed, "D": r.latent_dim, "run": r.name,
                 **{key: v for key, v in s.items() if key.split("_floor")[0].split("_flagged")[0] in METRIC_COLUMNS}})
if not rows:
    st.info("Nothing evaluated yet for these settings: press Evaluate.", icon=":material/info:")
    st.stop()

per_run = pd.DataFrame(rows)
agg = aggregate_metrics(rows)
st.subheader("Mean ± std over seeds (floor)")
TITLES = {**{m.key: m.title for m in METRICS}, **dict(TABLE_METRICS)}
widgets.table(floor_table(rows).rename(columns=TITLES), "cmp.agg", "compare_mean_std")
with st.expander("What the metrics mean"):
    st.markdown("\n".join(f"- **{m.title}** ({m.better} is better): {m.help}" for m in METRICS))
metric = st.selectbox("Chart", list(METRIC_COLUMNS), key="cmp.metric",
                      format_func=lambda m: m.replace("_", " "))
labels = [f"{a} · {b}" for a, b in zip(agg["dataset"], agg["model"])]
if f"{metric}_mean" not in agg:
    st.info(f"No evaluated run has {metric.replace('_', ' ')}.", icon=":material/info:")
else:
    floor_agg = aggregate_metrics(rows, metrics=[f"{metric}_floor"])
    floors = floor_agg[f"{metric}_floor_mean"] if f"{metric}_floor_mean" in floor_agg else None
    widgets.figure(metric_bars(labels, agg[f"{metric}_mean"], agg[f"{metric}_std"], metric, floors=floors),
                   "cmp.bars", f"compare_{metric}")
st.subheader("Per run")
widgets.table(per_run[[c for c in per_run.columns if not c.endswith(("_floor_sd", "_flagged"))]], "cmp.runs",
              "compare_per_run")
