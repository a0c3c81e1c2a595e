"""Random walks: the model's walk animated on the mesh beside the true diffusion walk, bursts, convergence."""
import numpy as np
import streamlit as st

from vdae_core.study.analysis import colour_options, latent_plane
from vdae_core.study.diagnostics import nearest_vertex
from vdae_core.foundation.errors import UserInputError
from vdae_core.ui import cache, frame, state, timing, widgets
from vdae_core.viz.common import LEARNED, TRUTH, up_axis
from vdae_core.viz.images import filmstrip_steps, images_from_points, montage_figure
from vdae_core.viz.scatter import points_figure
from vdae_core.viz.walks import WalkPanel, burst_figure, convergence_figure, retention_figure, walk_animation

ss = st.session_state
info, run, run_line = frame.analysis_page("walks", "Random walks")
ds = run.dataset
has_mesh = ds.mesh is not None and ds.ambient_dim == 3
st.caption(f"{run_line} · latent {run.model.latent_space.label} · "
           + ("the walk is the model's own generative process (Algorithm 2)" if getattr(run.model, "native_walk", False)
              else "this model has no native walk: encode, perturb, decode"))
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


@st.fragment
def mesh_views(wc):
    """The two animated walks and the burst: every control here is display-only or cached."""
    with timing.timed("fragment:walks"):
        _mesh_views(wc)


def _mesh_views(wc):
    trail, frame_ms, up = display_controls()
    V, F = ds.mesh.vertices, ds.mesh.faces
    fig = walk_animation([WalkPanel("learned walk (model)", wc.learned, LEARNED),
                          WalkPanel(f"true diffusion walk on the mesh graph<br>({wc.substeps} graph steps / step)",
                                    wc.truth, TRUTH)],
                         mesh=(V, F), trail=trail, frame_ms=frame_ms, start=wc.start, up=up, up_buttons=True,
                         uirevision=f"walk-{info.path}")
    widgets.linked_figure(fig, "walks.anim", f"{info.name}_walk_v{start}", camera_key=f"{info.path}|{up}")
    st.caption("Press ▶ Play or drag the step slider: the animation runs in your browser (all steps are in the "
               "figure). The two panels share one camera: rotate or zoom one and the other follows, and it stays "
               "where you put it when the page redraws. Both panels start at the black diamond. "
               f"Learned walkers are on average {wc.off_surface[1:].mean():.2f} edge lengths off the surface. "
               "Speed and the up axis are buttons in the figure (they act in your browser); the trail redraws only "
               "this part of the page.")
    burst_and_convergence(wc, up)


try:
    if has_mesh:
        sub_auto = st.toggle("match the true walk's step length to the learned one", value=True, key="walks.auto",
                             help="One graph step moves one edge; the learned walk moves further. With this on, "
                                  "a displayed true step is the number of graph steps whose RMS displacement "
                                  "matches the learned walk's first step.")
        substeps = None if sub_auto else st.slider("graph steps per displayed step", 1, 200, 10, key="walks.sub")
        with st.spinner(f"Walking {n_walkers} walkers × {steps} steps (model and mesh graph)…"):
            wc = cache.walk_comparison(info.path, start, n_walkers, steps, seed, substeps)
    else:
        with st.spinner(f"Walking {n_walkers} walkers × {steps} steps…"):
            walk, tv, floor = cache.point_walk(info.path, start, n_walkers, steps, seed)
        proj = cache.display_projection(info.path)
except UserInputError as e:
    widgets.error_box(e)
    st.stop()


@st.fragment
def point_views():
    with timing.timed("fragment:walks"):
        _point_views()


def _point_views():
    trail, frame_ms, _ = display_controls()
    fig = walk_animation([WalkPanel("learned walk (model)", proj(walk, pad3=True), LEARNED)], trail=trail,
                         frame_ms=frame_ms, start=proj(ds.X[start], pad3=True), uirevision=f"walk-{info.path}",
                         backdrop=proj(ds.X, pad3=True))
    widgets.figure(fig, "walks.anim", f"{info.name}_walk_p{start}")
    last = cache.point_walk_end(info.path, start, n_walkers, steps, seed)
    where = (f"After {steps} steps the walkers' median distance to the nearest data point is "
             f"{last['median_dist'] / last['spacing']:.2f} data spacings (an exact sampler scores about 1)"
             + (f", and to the true manifold {last['median_manifold_dist'] / last['spacing']:.2f} spacings."
                if "median_manifold_dist" in last else "."))
    st.caption("This dataset has no mesh, so there is no ground-truth graph walk to compare with; the convergence "
               "curve below compares the walkers with the data distribution instead. " + where
               + (" Points are drawn by their first three principal components." if ds.ambient_dim > 3 else ""))
    if ds.images is not None:
        k = min(6, n_walkers)
        shown = filmstrip_steps(walk.shape[0] - 1)  # at most 11 columns: thumbnails stay readable
        rows = walk[shown][:, :k].transpose(1, 0, 2)  # (walker, step, pixels)
        strip = np.clip(images_from_points(rows.reshape(-1, rows.shape[-1]), run.model.data_shape), 0, 1)
        widgets.figure(montage_figure(strip, ncols=len(shown), title=f"{k} walkers (rows) step by step",
                                      col_labels=[str(s) for s in shown],
                                      row_labels=[f"walker {j + 1}" for j in range(k)], x_title="walk step"),
                       "walks.images", f"{info.name}_walk_images")
    burst_and_convergence(None, "z")


def burst_and_convergence(wc, up):
    left, right = st.columns(2, gap="medium")
    with left:
        st.subheader("Burst: many one-step samples")
        nb = st.slider("samples", 50, 3000, 500, step=50, key="walks.burst_n")
        try:
            with st.spinner("Sampling…"):
                if has_mesh:
                    b, p = cache.burst(info.path, start, nb, seed, wc.substeps)
                    bf = burst_figure(wc.start, b, mesh=(ds.mesh.vertices, ds.mesh.faces), gt_probability=p, up=up,
                                      uirevision=f"burst-{info.path}-{up}")
                else:
                    b = cache.point_burst(info.path, start, nb, seed)
                    bf = burst_figure(proj(ds.X[start], pad3=True), proj(b, pad3=True),
                                      backdrop=proj(ds.X, pad3=True), uirevision=f"burst-{info.path}")
            widgets.figure(bf, "walks.burst", f"{info.name}_burst")
            st.caption("One step of the model from the start point, many times: the cloud is the learned step "
                       "distribution N(ψ(x), C_φ(x)) pushed through the decoder."
                       + (" The mesh colour is where the true walk can be after one displayed step." if has_mesh
                          else ""))
        except UserInputError as e:
            widgets.error_box(e)
    with right:
        st.subheader("Convergence to the stationary distribution")
        curves, fl = (wc.tv, wc.floor) if has_mesh else (tv, floor)
        widgets.figure(convergence_figure(curves, fl), "walks.tv", f"{info.name}_convergence")
        if has_mesh:
            st.caption(f"Total variation between where the walkers are and π ∝ degree (the true walk's stationary "
                       f"distribution), with the mesh cut into {wc.n_regions} regions so {n_walkers} walkers can "
                       "fill them. The dashed line is what that many independent exact samples of π would still "
                       "show.")
        else:
            st.caption("Total variation between the walkers and the training data (regions of nearby points).")


if has_mesh:
    mesh_views(wc)
else:
    point_views()

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
