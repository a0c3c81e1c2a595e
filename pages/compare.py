"""Compare: every saved run evaluated by the protocol (samples against held-out data, beside noise floors)."""
import os

import pandas as pd
import streamlit as st

from vdae_core.study.compare import (PAPER_DATASETS, PAPER_GW_NOTE, PAPER_MODELS, PAPER_TABLE1, aggregate_metrics,
                                    floor_table)
from vdae_core.foundation.registry import DATASETS, MODELS
from vdae_core.study.metric_specs import METRIC_COLUMNS, SPECS, column_title
from vdae_core.study.evaluation_cache import read_cached_evaluation
from vdae_core.study.verdicts import GLOSSARY, verdict
from vdae_core.foundation.errors import UserInputError
from vdae_core.ui import cache, frame, nav, state, sweeps, uploads, widgets
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

with st.expander("Run a comparison: models × datasets × seeds, trained in the background",
                 expanded=not state.saved_runs()):
    st.caption("Reproduces the VDAE paper's Table 1 on your machine (`python -m vdae_core compare` does the same "
               "from a terminal, in parallel). Each run is saved like any other, so you can open it in every page; "
               "stopping keeps the runs that finished. Baselines use their validated settings (β-VAE: β and a 2-D "
               "prior by a documented sweep).")
    built_in = [d for d in DATASETS.names() if not DATASETS.tags(d).get("finite")]
    f = st.columns([2, 3, 1, 1])
    sw_d = f[0].multiselect("Datasets to train", built_in, default=[d for d in PAPER_DATASETS if d in built_in],
                            key="cmp.sweep.datasets")
    sw_m = f[1].multiselect("Models to train", [m for m in MODELS.names() if MODELS.tags(m).get("listed", True)], default=[m for m in PAPER_MODELS if m in MODELS.names()],
                            key="cmp.sweep.models")
    sw_s = f[2].number_input("Seeds", 1, 10, 2, key="cmp.sweep.seeds", help="Seeds 0..S-1 of every pair.")
    sw_q = f[3].toggle("Quick", value=True, key="cmp.sweep.quick",
                       help="Schedules shortened to a tenth: minutes instead of an hour, numbers only indicative.")
    sweep = sweeps.get()
    g = st.columns([1, 1, 4])
    if g[0].button("Start", type="primary", icon=":material/play_arrow:", key="cmp.sweep.go",
                   disabled=bool(sweep and sweep.active) or not (sw_d and sw_m)):
        try:
            sweep = sweeps.start(sw_d, sw_m, int(sw_s), bool(sw_q), int(ss.get("cmp.n", 1000)), int(ss.get("cmp.k", 10)),
                                 None if ss.get("cmp.own_seed", True) else int(ss.get("cmp.seed", 0)))
        except (UserInputError, RuntimeError) as e:
            widgets.error_box(e)
    if sweep is not None and sweep.active and g[1].button("Stop", icon=":material/stop:", key="cmp.sweep.stop"):
        sweeps.stop(sweep)

    @st.fragment(run_every=1.0 if sweep is not None and sweep.active else None)
    def sweep_panel():
        sw = sweeps.get()
        if sw is None:
            return
        text = {"running": f"Training {sw.current} ({sw.done + 1} of {sw.total})…",
                "stopping": f"Stopping after {sw.current}…", "done": f"Done: {sw.total} runs.",
                "stopped": f"Stopped: {sw.done} of {sw.total} runs kept.",
                "failed": f"Failed after {sw.done} runs: {sw.message}"}[sw.status]
        st.progress(sw.done / max(1, sw.total), text=text)
        if not sw.active and ss.get("_sweep_seen") != (sw.started, sw.status):
            ss["_sweep_seen"] = (sw.started, sw.status)
            st.rerun()  # the finished runs join the tables below

    sweep_panel()

with st.expander("Judge samples from any model against a built-in dataset"):
    st.caption("Upload points a model of yours generated: they are judged by the same protocol against "
               f"{cache.JUDGE_REFERENCE_POINTS:,} fresh points of the dataset's law (half the reference, half cut into "
               "five disjoint floor samples). The file stays private to this browser. Memorisation needs the "
               "model's training points: `python -m vdae_core evaluate --samples S --reference R --train T`.")
    u = st.columns([3, 2, 1])
    byo_file = u[0].file_uploader("Generated points (.npy, .npz with key X, .csv, .txt)", key="cmp.byo.file",
                                  type=["npy", "npz", "csv", "txt"])
    law_sets = [d for d in DATASETS.names() if not DATASETS.tags(d).get("finite")]
    byo_data = u[1].selectbox("Judge against", law_sets, key="cmp.byo.dataset",
                              index=law_sets.index(ss["dataset"]) if ss.get("dataset") in law_sets else 0)
    if u[2].button("Judge", key="cmp.byo.go", disabled=byo_file is None, icon=":material/gavel:"):
        path, err = uploads.accept_points(byo_file)
        if err:
            widgets.error_box(err, "cannot judge")
        else:
            ss["cmp.byo"] = (path, byo_data, byo_file.name)
    if "cmp.byo" in ss:
        path, name, label = ss["cmp.byo"]
        try:
            with st.spinner(f"Judging {label} against {name}…"):
                judged = cache.judged_samples(path, name)
        except (UserInputError, FileNotFoundError) as e:
            widgets.error_box(e, f"{label} against {name}")
        else:
            keys = [k for k in list(METRIC_COLUMNS) + sorted(k for k in judged if k.startswith("ks_")
                                                              and not k.endswith(("_floor", "_floor_sd", "_flagged")))
                    if k in judged]
            widgets.table(pd.DataFrame({
                "metric": [column_title(k) for k in keys],
                "value": [f"{judged[k]:.4g}" + (" ⚑" if judged[f"{k}_flagged"] else "") for k in keys],
                "floor (exact samples)": [f"{judged[k + '_floor']:.4g} ± {judged[k + '_floor_sd']:.2g}" for k in keys],
                "verdict": [verdict(k, judged[k], judged[k + "_floor"], judged[k + "_floor_sd"]) for k in keys],
            }), "cmp.byo.table", f"judged_{os.path.splitext(label)[0]}_{name}")
            st.caption(f"{label}: {judged['n_generated']} points judged against {judged['reference']}. "
                       "⚑: beyond 3 floor sds on the bad side.")

infos = state.saved_runs()
if not infos:
    st.info("No saved runs yet: train some on the Train page (several seeds of the same model and dataset give the "
            "± columns).", icon=":material/info:")
    st.stop()

c = st.columns([2, 2, 1.2, 0.8, 1.4, 1])
datasets = sorted({r.dataset for r in infos})
models = sorted({r.model for r in infos})
finished = sweeps.get()
if finished is not None and not finished.active and ss.get("_sweep_merged") != finished.started:
    ss["_sweep_merged"] = finished.started  # show a finished sweep's datasets and models in the tables below
    for key, new, options in (("cmp.datasets", {j.dataset for j in finished.jobs}, datasets),
                              ("cmp.models", {j.model for j in finished.jobs}, models)):
        if key in ss:
            ss[key] = sorted((set(ss[key]) | new) & set(options))
pick_d = c[0].multiselect("Datasets", datasets, default=datasets, key="cmp.datasets")
pick_m = c[1].multiselect("Models", models, default=models, key="cmp.models")
n_samples = c[2].select_slider("eval points", [250, 500, 1000, 2000], 1000, key="cmp.n",
                               help="Data points evaluated and points generated per run (the `compare` command: 1000).")
k = c[3].number_input("k", 2, 50, 10, key="cmp.k", help="Neighbours for bi-Lipschitz, trustworthiness, continuity.")
own_seed = c[4].toggle("run seeds", value=True, key="cmp.own_seed",
                       help="Evaluate each run with its own seed, as the `compare` command does (its runs then show "
                            "without recomputing); off: one evaluation seed for every run.")
eval_seed = c[5].number_input("eval seed", 0, 2**31 - 1, 0, key="cmp.seed", disabled=own_seed)
chosen = [r for r in infos if r.dataset in pick_d and r.model in pick_m]
stopped = [r for r in chosen if r.stopped_early]
include_stopped = st.toggle(f"Include {len(stopped)} run(s) that stopped early", value=False, key="cmp.stopped",
                            disabled=not stopped,
                            help="A run stopped before its phases finished is half-trained: left out of the means "
                                 "unless you include it on purpose (it is then marked in the per-run table).")
runs = [r for r in chosen if include_stopped or not r.stopped_early]


def maps_section() -> None:
    st.subheader("Maps: tears, folds and loops")
    st.caption("Every selected run with an encoder, its map from the training points to their codes audited as any map "
               "is (the *Audit any map* page): torn and folded edges, the Betti numbers (components, loops) of the codes "
               "against the data's, the Representation Topology Divergence (0: the same clusters and loops at the same "
               "scales), the scale-free bi-Lipschitz median, trustworthiness and continuity. The classical learners "
               "(PCA, Isomap, LLE, diffusion map, PHATE, UMAP, t-SNE) and the topological autoencoder have rows here and none "
               "in the sample tables above. About 5 s a run, then cached.")
    with_codes = [r for r in runs if MODELS.get(r.model).has_encoder] if runs else []
    if with_codes and st.toggle(f"Audit the maps of {len(with_codes)} run(s)", key="cmp.maps"):
        map_rows = []
        with st.spinner("Auditing the maps…"):
            for r in with_codes:
                try:
                    m = cache.map_row(r.path)
                except UserInputError as e:
                    widgets.error_box(e, r.name)
                    continue
                map_rows.append({"dataset": r.dataset, "model": r.model, "seed": r.seed, "latent": m["latent_dim"],
                                 "torn edges": m["torn_edges"], "folded edges": m["folded_edges"],
                                 "Betti codes (data)": f"{tuple(m['betti_codes'])} ({', '.join(map(str, m['betti_data']))})",
                                 "RTD": round(m["rtd"], 4), "bi-Lip (scale-free)": round(m["bilip_scale_free"], 3),
                                 "trustworthiness": round(m["trustworthiness"], 4),
                                 "continuity": round(m["continuity"], 4), "run": r.name})
        widgets.table(pd.DataFrame(map_rows), "cmp.maps.table", "compare_maps")


def seed_of(r) -> int:
    return int(r.seed) if own_seed else int(eval_seed)


cached = {r.path: read_cached_evaluation(r.path, n_samples, k, seed_of(r)) for r in runs}
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
            cache.evaluation(r.path, n_samples, k, seed_of(r))
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
                 "finished": "stopped early" if r.stopped_early else "yes",
                 **{key: v for key, v in s.items() if key.split("_floor")[0].split("_flagged")[0] in METRIC_COLUMNS}})
if not rows:
    st.info("Nothing evaluated yet for these settings: press Evaluate.", icon=":material/info:")
    maps_section()
    st.stop()

per_run = pd.DataFrame(rows)


def _markdown(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


agg = aggregate_metrics(rows)
st.subheader("Mean ± std over seeds (floor)")
TITLES = {key: column_title(key, SPECS[key].table or SPECS[key].title) for key in METRIC_COLUMNS}
table = floor_table(rows)
floor_agg = aggregate_metrics(rows, metrics=[f"{k}_floor" for k in METRIC_COLUMNS if SPECS[k].better == "match"])
for col in [c for c in table.columns if c in METRIC_COLUMNS]:  # ★ the best mean of each dataset, per column
    if f"{col}_mean" not in agg:
        continue
    for d in table["dataset"].unique():
        sel = agg["dataset"] == d
        vals = agg.loc[sel, f"{col}_mean"].astype(float)
        if vals.notna().sum() < 2:
            continue
        spec = SPECS[col]
        target = spec.ideal
        if spec.better == "match" and f"{col}_floor_mean" in floor_agg:  # a Betti number: the data's own
            target = floor_agg.loc[sel, f"{col}_floor_mean"].astype(float)
        score = (vals - target).abs() if target is not None else (-vals if spec.better == "higher" else vals)
        best = score.idxmin()
        table.loc[(table["dataset"] == d) & (table["model"] == agg.loc[best, "model"]), col] += " ★"
paper = [PAPER_TABLE1.get(d, {}).get(m) for d, m in zip(table["dataset"], table["model"])]
if any(paper):
    table.insert(4, "GW (paper)", [f"{p['gw']:g} ± {p['gw_std']:g}" if p else "" for p in paper])
    table.insert(5, "bi-Lip raw (paper)", [f"{p['bilip']:g}" if p else "" for p in paper])
table = table.rename(columns=TITLES)
widgets.table(table, "cmp.agg", "compare_mean_std")
st.caption("★ best mean of its dataset in that column (for bi-Lipschitz and memorisation: nearest 1; for Betti "
           "numbers: nearest the data's, the floor). "
           + (PAPER_GW_NOTE if any(paper) else ""))
d = st.columns(3)
d[0].download_button("Table (Markdown)", _markdown(table), "compare.md", "text/markdown", key="cmp.dl.md",
                     icon=":material/download:", type="tertiary", on_click="ignore")
d[1].download_button("Table (HTML)", table.to_html(index=False), "compare.html", "text/html", key="cmp.dl.html",
                     icon=":material/download:", type="tertiary", on_click="ignore")
with st.expander("What the metrics mean"):
    st.markdown("\n".join(f"- **{column_title(k)}**: {SPECS[k].help} Floor: {SPECS[k].floor}." for k in METRIC_COLUMNS))
    st.markdown("**Glossary**\n" + "\n".join(f"- **{term}**: {text}" for term, text in GLOSSARY.items()))
metric = st.selectbox("Chart", list(METRIC_COLUMNS), key="cmp.metric",
                      format_func=lambda m: SPECS[m].title)
labels = [f"{a} · {b}" for a, b in zip(agg["dataset"], agg["model"])]
if f"{metric}_mean" not in agg:
    st.info(f"No evaluated run has {metric.replace('_', ' ')}.", icon=":material/info:")
else:
    floor_agg = aggregate_metrics(rows, metrics=[f"{metric}_floor"])
    floors = floor_agg[f"{metric}_floor_mean"] if f"{metric}_floor_mean" in floor_agg else None
    widgets.figure(metric_bars(labels, agg[f"{metric}_mean"], agg[f"{metric}_min"], agg[f"{metric}_max"],
                               TITLES.get(metric, metric), floors=floors, runs=agg["runs"]),
                   "cmp.bars", f"compare_{metric}")
st.subheader("Per run")
widgets.table(per_run[[c for c in per_run.columns if not c.endswith(("_floor_sd", "_flagged"))]], "cmp.runs",
              "compare_per_run")
by_name = {r.name: r for r in runs}
o = st.columns([3, 1])
pick = o[0].selectbox("Open a run in the other pages", [r["run"] for r in rows], key="cmp.open",
                      format_func=lambda n: by_name[n].label if n in by_name else n)
if o[1].button("Open", key="cmp.open.go", icon=":material/open_in_new:") and pick in by_name:
    state.request_run(by_name[pick].path)
    st.switch_page(nav.page("latent"))

maps_section()
