"""Random walks: the model's walk animated on the mesh beside the true diffusion walk, bursts, convergence."""
import numpy as np
import streamlit as st

from vdae_core.study.analysis import colour_options, latent_plane
from vdae_core.study.diagnostics import nearest_vertex
from vdae_core.study.verdicts import surface_verdict
from vdae_core.foundation.errors import UserInputError
from vdae_core.ui import cache, compare_runs, frame, state, timing, widgets
from vdae_core.viz.common import LEARNED, TRUTH, up_axis
from vdae_core.viz.images import filmstrip_steps, images_from_points, montage_figure
from vdae_core.viz.scatter import points_figure
from vdae_core.viz.side_by_side import SECOND, controls_below, convergence_pair
from vdae_core.viz.walks import WalkPanel, burst_figure, convergence_figure, retention_figure, walk_animation

ss = st.session_state
info, run, run_line = frame.analysis_page("walks", "Random walks")
ds = run.dataset
has_mesh = ds.mesh is not None and ds.ambient_dim == 3
pair = compare_runs.sides(info, run, compare_runs.pick("walks", info))
compare_runs.header(pair)


def walk_kind(m) -> str:
    return ("the walk is the model's own generative process (Algorithm 2)" if getattr(m, "native_walk", False)
            else "this model has no native walk: encode, perturb, decode")


for side in pair:
    st.caption(f"{run_line if len(pair) == 1 else f'**{side.tag}**'} · latent {side.run.model.latent_space.label} · "
               + walk_kind(side.run.model))
if not run.model.has_decoder:
    st.info(run.model.lacks("has_decoder", "a walk steps in the latent space and decodes, so there is nothing to "
                                           "animate. Its codes are on the Latent page, its tears and loops on the "
                                           "Topology audit."), icon=":material/info:")
    st.stop()

# -- where walkers start: one canonical index per run -----------------------------------------------------
starts = ss.setdefault("walk.starts", {})
n_targets = len(ds.mesh.vertices) if has_mesh else ds.n
url_start = state.url_value("start", int, None, 0, n_targets - 1)  # a pasted link's start, read once
if url_start is not None:
    starts[info.path] = url_start
start = int(starts.get(info.path, 0))
start = min(max(start, 0), n_targets - 1)


def _set_start(i: int, from_input: bool = False) -> None:
    ss["walk.starts"][info.path] = int(i)
    if not from_input:  # a click: draw a fresh input showing the new start
        ss["walk.start_gen"] = ss.get("walk.start_gen", 0) + 1


def _on_pick() -> None:
    sel = (ss.get("walks.pick") or {}).get("selection") or {}
    pts = [p for p in sel.get("points", []) if p.get("curve_number", 0) == 0]
    if pts:
        i = int(pts[0]["point_index"])
        _set_start(nearest_vertex(ds.mesh.vertices, ds.X[i]) if has_mesh else i)


def _start_key() -> str:
    """The start input's key in the current generation (a click on the view starts a new one)."""
    return f"w.walk_start.{ss.get('walk.start_gen', 0)}"


start_key = _start_key()


def _on_start_input(key: str) -> None:
    if key == _start_key():  # an input of an earlier generation is stale
        _set_start(ss.get(key, start), from_input=True)


c = st.columns([1.3, 1, 1, 1])
c[0].number_input("Start vertex" if has_mesh else "Start point (training index)", 0, n_targets - 1, start, step=1,
                  key=start_key, on_change=_on_start_input, args=(start_key,),
                  help=("A vertex of the mesh; or click a point in the latent view below." if has_mesh else
                        "A training point; or click a point in the latent view below."))
n_walkers = c[1].slider("walkers", 1, 500, key="walks.n", **state.widget_start("walks.n", "walkers", int, 200, 1, 500))
steps = c[2].slider("steps", 1, 100, key="walks.steps", **state.widget_start("walks.steps", "steps", int, 30, 1, 100))
seed = c[3].number_input("walk seed", 0, 2**31 - 1, key="walks.seed",
                         **state.widget_start("walks.seed", "walk_seed", int, 0, 0, 2**31 - 1))
state.show_view_in_url(start=start, walkers=n_walkers, steps=steps, walk_seed=seed)


def display_controls():
    """The trail: it changes the drawing only, so it lives in the fragments below and a change reruns the
    figures, not the page (the walks are cached). Speed and up axis are buttons inside the figure."""
    trail = st.columns([1, 2])[0].slider("trail", 0, 30, 5, key="walks.trail",
                                         help="Steps of history drawn behind each walker.")
    return trail, FRAME_MS, up_axis(ds.name)


#: Milliseconds per step of ▶ Play (the figure's buttons play 4× slower or faster).
FRAME_MS = 200


def uses_mesh(d) -> bool:
    return d.mesh is not None and d.ambient_dim == 3


def same_ground(a, b) -> bool:
    """Both runs walk the same mesh (or, without one, the same points): one figure holds both walks."""
    da, db = a.run.dataset, b.run.dataset
    if uses_mesh(da) and uses_mesh(db):
        return (np.array_equal(da.mesh.vertices, db.mesh.vertices) and np.array_equal(da.mesh.faces, db.mesh.faces))
    return not uses_mesh(da) and not uses_mesh(db) and compare_runs.same_data(a, b)


walkers_ = [s for s in pair if s.run.model.has_decoder]  # the runs that walk (A, and B when it has a decoder)
for side in pair[1:]:
    if not side.run.model.has_decoder:
        st.info(f"**{side.tag}** · " + side.run.model.lacks("has_decoder", "a walk steps in the latent space and "
                                                                          "decodes, so only A walks here."),
                icon=":material/info:")
joint = len(walkers_) == 2 and same_ground(*walkers_)


def walk_of(side, start_at: int, substeps):
    """The side's walk from ``start_at`` with the page's walkers, steps and seed: a dict with the side, whether it
    walks a mesh, and either ``wc`` (the comparison with the true mesh walk) or ``walk``, ``tv``, ``floor`` and
    ``proj`` (a walk over the data)."""
    d = side.run.dataset
    rec = dict(side=side, mesh=uses_mesh(d), start=start_at, up=up_axis(d.name))
    if rec["mesh"]:
        with st.spinner(f"Walking {n_walkers} walkers × {steps} steps (model and mesh graph)…"):
            rec["wc"] = cache.walk_comparison(side.path, start_at, n_walkers, steps, seed, substeps)
    else:
        with st.spinner(f"Walking {n_walkers} walkers × {steps} steps…"):
            rec["walk"], rec["tv"], rec["floor"] = cache.point_walk(side.path, start_at, n_walkers, steps, seed)
        rec["proj"] = cache.display_projection(side.path)
    return rec


def other_start(side) -> int:
    """Where the other run's walkers start: A's start on the same mesh or points, else its own remembered one."""
    if joint:
        return start
    d = side.run.dataset
    n = len(d.mesh.vertices) if uses_mesh(d) else d.n
    return min(max(int(starts.get(side.path, 0)), 0), n - 1)


try:
    substeps = None
    if has_mesh:
        sub_auto = st.toggle("match the true walk's step length to the learned one", value=True, key="walks.auto",
                             help="One graph step moves one edge; the learned walk moves further. With this on, "
                                  "a displayed true step is the number of graph steps whose RMS displacement "
                                  "matches the learned walk's first step"
                                  + (" (A's, for both runs: they share one true walk)." if joint else "."))
        substeps = None if sub_auto else st.slider("graph steps per displayed step", 1, 200, 10, key="walks.sub")
    recs = [walk_of(pair[0], start, substeps)]
except UserInputError as e:
    widgets.error_box(e)
    st.stop()
for side in walkers_[1:]:
    try:  # on A's mesh, B's true walk takes A's graph steps: both runs are compared with the same true walk
        recs.append(walk_of(side, other_start(side), recs[0]["wc"].substeps if joint and has_mesh else substeps))
    except UserInputError as e:
        widgets.error_box(e, f"{side.tag} cannot walk here")


def panel_title(rec, what: str = "learned walk (model)") -> str:
    return f"{rec['side'].tag}: {what}" if len(pair) > 1 else what


def animation(group, trail: int, frame_ms: int, up: str, narrow: bool = False):
    """One figure of the walks of ``group`` (runs on the same ground): a scene per learned walk and, on a mesh, the
    true walk last (``narrow``: shorter panel titles, for half the page's width)."""
    a = group[0]
    d = a["side"].run.dataset
    colours = {compare_runs.TAGS[0]: LEARNED, compare_runs.TAGS[1]: SECOND}
    if a["mesh"]:
        wc0 = a["wc"]
        panels = [WalkPanel(panel_title(r), r["wc"].learned, colours[r["side"].tag]) for r in group]
        truth = "true walk on the mesh" if narrow else "true diffusion walk on the mesh graph"
        panels.append(WalkPanel(f"{truth}<br>({wc0.substeps} graph steps / step)", wc0.truth, TRUTH))
        return walk_animation(panels, mesh=(d.mesh.vertices, d.mesh.faces), trail=trail, frame_ms=frame_ms,
                              start=wc0.start, up=up, up_buttons=True, uirevision=f"walk-{a['side'].path}")
    pj = a["proj"]
    panels = [WalkPanel(panel_title(r), pj(r["walk"], pad3=True), colours[r["side"].tag]) for r in group]
    return walk_animation(panels, trail=trail, frame_ms=frame_ms, start=pj(d.X[a["start"]], pad3=True),
                          uirevision=f"walk-{a['side'].path}", backdrop=pj(d.X, pad3=True))


def where_line(rec) -> str:
    """Where the walkers end: on a mesh, how far off the surface; else how far from the data (and true manifold)."""
    side = rec["side"]
    pre = f"{side.tag}'s " if len(pair) > 1 else ""
    if rec["mesh"]:
        wc = rec["wc"]
        reach, true_reach = wc.reach("xyz".index(rec["up"]))
        return (f"{pre or 'Learned '}walkers are on average {wc.off_surface[1:].mean():.2f} edge lengths off "
                "the surface. **Verdict:** " + surface_verdict(float(wc.off_surface[1:].mean()), reach,
                                                                true_reach if true_reach > 0 else None))
    last = cache.point_walk_end(side.path, rec["start"], n_walkers, steps, seed)
    return (f"After {steps} steps {pre or 'the '}walkers' median distance to the nearest data point is "
            f"{last['median_dist'] / last['spacing']:.2f} data spacings (an exact sampler scores about 1)"
            + (f", and to the true manifold {last['median_manifold_dist'] / last['spacing']:.2f} spacings."
               if "median_manifold_dist" in last else "."))


def draw_walks(group, trail: int, frame_ms: int, key: str, narrow: bool = False) -> None:
    """Draw one animation of ``group`` and its caption (``narrow``: in half the page's width). A mesh, or several
    walks, go in an embedded figure whose scenes share one camera; a single walk over the data is a plain chart."""
    a = group[0]
    side = a["side"]
    up = a["up"] if a["mesh"] else "z"
    fig = animation(group, trail, frame_ms, up, narrow)
    if narrow:
        controls_below(fig)
    name = "_vs_".join(r["side"].info.name for r in group)
    if a["mesh"] or len(group) > 1:
        widgets.linked_figure(fig, key, f"{name}_walk_v{a['start']}" if a["mesh"] else f"{name}_walk_p{a['start']}",
                              camera_key="|".join(r["side"].path for r in group) + f"|{up}")
    else:
        widgets.figure(fig, key, f"{side.info.name}_walk_p{a['start']}")
    where = " ".join(where_line(r) for r in group)
    if a["mesh"]:
        shared = (" The true walk is the same for both runs: same start, walkers, steps, seed and graph steps per "
                  "step (matched to A's learned walk)." if len(group) > 1 else "")
        st.markdown(where)
        st.caption("Press ▶ Play or drag the step slider: the animation runs in your browser (all steps are in the "
                   f"figure). The {len(group) + 1} panels share one camera: rotate or zoom one and the others follow, "
                   "and it stays where you put it when the page redraws. Every panel starts at the black diamond."
                   + shared + " Speed and the up axis are buttons in the figure (they act in your "
                   "browser); the trail redraws only this part of the page.")
    else:
        d = side.run.dataset
        st.caption("This dataset has no mesh, so there is no ground-truth graph walk to compare with; the "
                   "convergence curve below compares the walkers with the data distribution instead. "
                   + ("The panels share one camera. " if len(group) > 1 else "") + where
                   + (" Points are drawn by their first three principal components." if d.ambient_dim > 3 else ""))


def filmstrip(rec) -> None:
    m = rec["side"].run.model
    k = min(6, n_walkers)
    walk_ = rec["walk"]
    shown = filmstrip_steps(walk_.shape[0] - 1)  # at most 11 columns: thumbnails stay readable
    rows = walk_[shown][:, :k].transpose(1, 0, 2)  # (walker, step, pixels)
    strip = np.clip(images_from_points(rows.reshape(-1, rows.shape[-1]), m.data_shape), 0, 1)
    widgets.figure(montage_figure(strip, ncols=len(shown), title=f"{k} walkers (rows) step by step",
                                  col_labels=[str(s) for s in shown],
                                  row_labels=[f"walker {j + 1}" for j in range(k)], x_title="walk step"),
                   rec["side"].key("walks.images"), f"{rec['side'].info.name}_walk_images")


@st.fragment
def walk_views(recs):
    """The animated walks, the bursts and the convergence: every control here is display-only or cached."""
    with timing.timed("fragment:walks"):
        _walk_views(recs)


def _walk_views(recs):
    trail, frame_ms, _ = display_controls()
    if len(recs) == 1 or joint:
        draw_walks(recs, trail, frame_ms, "walks.anim")
    else:  # other data: each run in its own column, with its own figure
        for rec, (side, col) in zip(recs, compare_runs.columns([r["side"] for r in recs])):
            with col:
                draw_walks([rec], trail, frame_ms, side.key("walks.anim"), narrow=True)
    images = [r for r in recs if not r["mesh"] and r["side"].run.dataset.images is not None]
    for rec, (side, col) in zip(images, compare_runs.columns([r["side"] for r in images], heading=False)):
        with col:
            filmstrip(rec)
    bursts_and_convergence(recs)


def burst_view(rec, nb: int) -> None:
    side, d = rec["side"], rec["side"].run.dataset
    try:
        with st.spinner("Sampling…"):
            if rec["mesh"]:
                b, p = cache.burst(side.path, rec["start"], nb, seed, rec["wc"].substeps)
                bf = burst_figure(rec["wc"].start, b, mesh=(d.mesh.vertices, d.mesh.faces), gt_probability=p,
                                  up=rec["up"], uirevision=f"burst-{side.path}-{rec['up']}")
            else:
                pj = rec["proj"]
                b = cache.point_burst(side.path, rec["start"], nb, seed)
                bf = burst_figure(pj(d.X[rec["start"]], pad3=True), pj(b, pad3=True),
                                  backdrop=pj(d.X, pad3=True), uirevision=f"burst-{side.path}")
        widgets.figure(bf, side.key("walks.burst"), f"{side.info.name}_burst")
    except UserInputError as e:
        widgets.error_box(e)


BURST_CAPTION = ("One step of the model from the start point, many times: the cloud is the learned step distribution "
                 "N(ψ(x), C_φ(x)) pushed through the decoder.")
MESH_BURST_CAPTION = " The mesh colour is where the true walk can be after one displayed step."


def convergence_caption(rec) -> str:
    if rec["mesh"]:
        return (f"Total variation between where the walkers are and π ∝ degree (the true walk's stationary "
                f"distribution), with the mesh cut into {rec['wc'].n_regions} regions so {n_walkers} walkers can "
                "fill them. The dashed line is what that many independent exact samples of π would still show.")
    return "Total variation between the walkers and the training data (regions of nearby points)."


def curves_of(rec):
    return (rec["wc"].tv, rec["wc"].floor) if rec["mesh"] else (rec["tv"], rec["floor"])


def bursts_and_convergence(recs):
    if len(recs) == 1:
        rec = recs[0]
        left, right = st.columns(2, gap="medium")
        with left:
            st.subheader("Burst: many one-step samples")
            burst_view(rec, st.slider("samples", 50, 3000, 500, step=50, key="walks.burst_n"))
            st.caption(BURST_CAPTION + (MESH_BURST_CAPTION if rec["mesh"] else ""))
        with right:
            st.subheader("Convergence to the stationary distribution")
            widgets.figure(convergence_figure(*curves_of(rec)), "walks.tv", f"{info.name}_convergence")
            st.caption(convergence_caption(rec))
        return
    st.subheader("Burst: many one-step samples")
    nb = st.slider("samples", 50, 3000, 500, step=50, key="walks.burst_n")
    for rec, (side, col) in zip(recs, compare_runs.columns([r["side"] for r in recs])):
        with col:
            burst_view(rec, nb)
    st.caption(BURST_CAPTION + (MESH_BURST_CAPTION if recs[0]["mesh"] else ""))
    st.subheader("Convergence to the stationary distribution")
    if joint:  # one figure: both runs' curves on the same axes (the shared true walk drawn once)
        (ca, fa), (cb, _) = curves_of(recs[0]), curves_of(recs[1])
        widgets.figure(convergence_pair(ca, cb, fa, compare_runs.TAGS), "walks.tv",
                       f"{info.name}_vs_{recs[1]['side'].info.name}_convergence")
        st.caption(convergence_caption(recs[0]) + " A's curves solid, B's dashed (its learned walk in purple).")
    else:  # other data: each against its own stationary distribution, on the same y-range
        for rec, (side, col) in zip(recs, compare_runs.columns([r["side"] for r in recs], heading=False)):
            with col:
                widgets.figure(convergence_figure(*curves_of(rec)).update_layout(showlegend=True),
                               side.key("walks.tv"), f"{side.info.name}_convergence")
                st.caption(convergence_caption(rec))
        st.caption("Both on the same y-range (0 to 1).")


walk_views(recs)
if len(pair) > 1:
    st.caption("The sections below show the active run, **A**.")

if ds.labels is not None:
    st.subheader("Do walkers stay in their class? (cluster-conditional sampling)")
    c = st.columns(2)
    steps_c = c[0].slider("walk steps", 1, 20, 10, key="walks.class_steps")
    per_class = c[1].slider("walkers per class", 2, 30, 10, key="walks.class_per")
    try:
        with st.spinner("Walking from every class…"):
            cw = cache.class_walks(info.path, per_class, steps_c, seed)
        widgets.figure(retention_figure(cw["per_step"], cw["chance"], "Share of samples that keep the start's class"),
                       "walks.classes", f"{info.name}_class_retention")
        at = min(5, steps_c)
        st.caption(f"{per_class} walkers start on training points of each class; a 5-nearest-neighbour classifier "
                   f"fitted on the real images labels every sample. After {at} steps **{cw['per_step'][at]:.0%}** "
                   f"carry their start's label (chance: {cw['chance']:.0%}). A walk built to cross the whole "
                   "manifold fast (the VDAE's default step, step_size 2) leaves its class within a few steps; a "
                   "short step (step_size 0.3 on the digits) keeps it there (docs/RESULTS.md).")
    except UserInputError as e:
        widgets.error_box(e)

st.subheader("Pick the start in the latent space")
if not run.model.has_encoder:
    st.info(run.model.lacks("has_encoder", "set the start by its index above."), icon=":material/info:")
    st.stop()


def _on_pick_rerun() -> None:
    _on_pick()
    ss["walk.picked"] = True  # the fragment below reruns the whole page: the walks start from the new point


@st.fragment
def pick_view():
    """The latent view to pick a start from: colour-by redraws only this view; a pick reruns the page."""
    if ss.pop("walk.picked", False):
        st.rerun(scope="app")
    Z = cache.latent_codes(info.path)
    colours = colour_options(ds.params, ds.param_names, ds.periodic)
    cname = st.selectbox("colour by", list(colours), key="walks.colour")
    start_pt = nearest_vertex(ds.X, ds.mesh.vertices[start]) if has_mesh else start
    Z2, znames = latent_plane(run.model, Z)
    pick = points_figure(Z2, colours[cname][0], cname, colours[cname][1], axis_names=znames, size=5,
                         highlight=[start_pt], highlight_name="start", height=420, uirevision=f"pick-{info.path}")
    widgets.figure(pick, "walks.pick", f"{info.name}_latent_pick", on_select=_on_pick_rerun,
                   selection_mode=("points",))
    st.caption("Click a point: its nearest mesh vertex becomes the start." if has_mesh else
               "Click a point: it becomes the start.")


pick_view()
