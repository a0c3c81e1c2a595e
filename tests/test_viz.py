"""Figure builders (vdae_core.viz): shapes, sizes, exports. No Streamlit here."""
import json

import numpy as np
import plotly.graph_objects as go
import pytest

from vdae_core.data.meshes import _asset_mesh, normalise_mesh
from vdae_core.viz import bilip, curves, images, scatter, walks
from vdae_core.viz.common import CYCLIC, HEAT, SEQUENTIAL, rgb_scale
from vdae_core.viz.export import figure_html, figure_json_size


@pytest.fixture(scope="module")
def bunny():
    return normalise_mesh(_asset_mesh("bunny_libigl_3485v.off"))


def _walk(start, n, steps, seed, scale=0.05):
    rng = np.random.default_rng(seed)
    return np.cumsum(np.concatenate([np.repeat(start[None, None], n, 1),
                                     scale * rng.standard_normal((steps, n, 3))]), axis=0)


def test_walk_animation_200x30_on_bunny_is_small_and_complete(bunny):
    """The issue's budget: 200 walkers x 30 steps on the 3,485-vertex bunny under 5 MB of figure JSON."""
    V, F = bunny.vertices, bunny.faces
    learned, truth = _walk(V[0], 200, 30, 0), _walk(V[0], 200, 30, 1)
    fig = walks.walk_animation([walks.WalkPanel("learned", learned), walks.WalkPanel("true", truth, "#2e86ab")],
                               mesh=(V, F), trail=5, start=V[0])
    size = figure_json_size(fig)
    assert size < 5 * 2**20, size
    assert len(fig.frames) == 31
    assert [f.name for f in fig.frames] == [str(t) for t in range(31)]
    # each frame updates only the two dynamic traces per panel (trails and walkers), never the mesh
    n_dyn = len(fig.frames[0].traces)
    assert n_dyn == 4 and all(len(f.data) == n_dyn for f in fig.frames)
    assert all(not isinstance(fig.data[i], go.Mesh3d) for i in fig.frames[0].traces)
    # frame t carries the walkers' positions at step t
    last = fig.frames[-1].data[1]
    assert np.allclose(np.asarray(last.x, dtype=np.float64), learned[30, :, 0], atol=1e-5)
    # play/pause and a step slider, a fixed camera revision, fixed axis ranges
    assert {b.label for b in fig.layout.updatemenus[0].buttons} == {"▶ Play", "▶ ×4 slower", "▶ ×4 faster", "❚❚ Pause"}
    assert len(fig.layout.sliders[0].steps) == 31
    assert fig.layout.scene.uirevision and fig.layout.scene.xaxis.autorange is False


def test_walk_json_uses_compact_typed_arrays(bunny):
    V, F = bunny.vertices, bunny.faces
    fig = walks.walk_animation([walks.WalkPanel("w", _walk(V[0], 50, 5, 0))], mesh=(V, F), trail=2)
    d = json.loads(fig.to_json())
    assert "bdata" in json.dumps(d["frames"][0]["data"][1]["x"])


def test_walk_trails_are_the_previous_positions_fading_with_age():
    traj = _walk(np.zeros(3), 4, 6, 0).astype(np.float32)   # (7 steps, 4 walkers, 3)
    xyz, fade = walks._trail_points(traj, 5, 3)
    assert xyz.shape == (3 * 4, 3) and fade.shape == (12,)
    # oldest first: steps 2, 3, 4 of every walker (no step t itself, no line between them)
    assert np.array_equal(xyz.reshape(3, 4, 3), traj[[2, 3, 4]])
    assert np.all(np.diff(fade.reshape(3, 4)[:, 0]) > 0) and fade.max() == 1.0 and fade.min() > 0
    early, _ = walks._trail_points(traj, 1, 3)                # before step 3 the start repeats
    assert np.array_equal(early.reshape(3, 4, 3), traj[[0, 0, 0]])
    fig = walks.walk_animation([walks.WalkPanel("w", traj)], trail=3)
    assert all(t.mode != "lines" for t in fig.data)           # no chords through the shape


def test_walk_animation_rejects_mismatched_panels():
    with pytest.raises(ValueError):
        walks.walk_animation([walks.WalkPanel("a", np.zeros((3, 2, 3))), walks.WalkPanel("b", np.zeros((4, 2, 3)))])


def test_burst_and_convergence(bunny):
    V, F = bunny.vertices, bunny.faces
    fig = walks.burst_figure(V[0], V[:50] + 0.01, mesh=(V, F), gt_probability=np.random.rand(len(V)))
    assert isinstance(fig.data[0], go.Mesh3d) and fig.data[0].intensity is not None
    fig = walks.burst_figure(V[0], V[:50], backdrop=V)
    assert len(fig.data) == 3
    fig = walks.convergence_figure({"true walk (exact)": np.linspace(1, 0, 5), "learned walk": np.ones(5)}, 0.2)
    assert len(fig.data) == 2


def test_points_figure_dimensions():
    rng = np.random.default_rng(0)
    f3 = scatter.points_figure(rng.normal(size=(100, 3)), rng.uniform(0, 6, 100), "θ", periodic=True,
                               highlight=[1, 2])
    assert isinstance(f3.data[0], go.Scatter3d) and f3.data[0].marker.cmax == pytest.approx(2 * np.pi)
    f2 = scatter.points_figure(rng.normal(size=(100, 2)))
    assert isinstance(f2.data[0], go.Scattergl)
    f1 = scatter.points_figure(rng.normal(size=100))
    assert len(f1.data[0].x) == 100
    fe = scatter.embedding_figure(rng.normal(size=(30, 2)), rng.normal(size=(20, 2)), "t-SNE", rng.normal(size=30))
    assert len(fe.data) == 3


def test_colour_scales_are_rgb_not_hex():
    """Streamlit's plotly.js misreads hex stops such as Inferno's '#000004'; scales are spelled in rgb()."""
    for scale in (HEAT, CYCLIC, SEQUENTIAL, rgb_scale("Blues"), rgb_scale([[0, "#000004"], [1, "#ffffff"]])):
        assert all(c.startswith("rgb") for _, c in scale)


def test_loss_curves_panels():
    rec = {"spectral": [{"step": 5, "time": 0.1, "loss": 1.0}, {"step": 10, "time": 0.2, "loss": 0.5}],
           "variational": []}
    fig = curves.loss_curves(rec, ["spectral", "variational"], current_phase="spectral")
    titles = [a.text for a in fig.layout.annotations]
    assert "spectral (running)" in titles and "not started yet" in titles
    # the first panel's y axis is titled, and no axis uses SI prefixes ("100μ" for a loss of 1e-4)
    assert fig.layout.yaxis.title.text == "loss terms" and fig.layout.yaxis.exponentformat == "power"
    # three phases, five lines: five colours (the same colour in two panels would read as one curve)
    rec3 = {"fit": [{"step": 1, "time": 0, "loss": 2.0}], "decoder": [{"step": 1, "time": 0, "loss": 1.0}],
            "walk": [{"step": 1, "time": 0, "loss": 3.0, "recon": 1.0, "kl": 2.0}]}
    colours = [t.line.color for t in curves.loss_curves(rec3).data]
    assert len(colours) == 5 and len(set(colours)) == 5
    empty = curves.loss_curves({})  # no records yet: one placeholder panel
    assert [a.text for a in empty.layout.annotations][-1] == "not started yet"
    fig = curves.metric_bars(["a", "b"], [0.01, 2], [0.0, 1.5], [0.05, 2.2], "gw", runs=[3, 1])
    bars = fig.data[0]
    assert len(fig.data) == 1
    # the whisker is the range over runs, so it never reaches below the smallest value (never below zero here)
    lows = np.asarray(bars.y) - np.asarray(bars.error_y.arrayminus)
    np.testing.assert_allclose(lows, [0.0, 1.5]) and np.testing.assert_allclose(
        np.asarray(bars.y) + np.asarray(bars.error_y.array), [0.05, 2.2])


def test_bilip_figures_share_a_colour_scale_and_handle_inf():
    rng = np.random.default_rng(0)
    v = 1 + rng.exponential(size=200)
    v[3] = np.inf
    lo, hi = bilip.colour_limits(v)
    assert lo == 0 and np.isfinite(hi)
    fd = bilip.bilip_data_figure(rng.normal(size=(200, 3)), v, "K", hi, worst=[3], selected=[5])
    fl = bilip.bilip_latent_figure(rng.normal(size=(200, 2)), v, "K", hi, worst=[3])
    assert fd.data[0].marker.cmax == fl.data[0].marker.cmax == hi
    assert np.isfinite(np.asarray(fd.data[0].marker.color, dtype=float)).all()
    fh = bilip.bilip_histogram(v, "K")
    assert "1 infinite" in fh.layout.title.text
    linked = bilip.bilip_linked_figure(rng.normal(size=(200, 3)), rng.normal(size=(200, 2)), v, "K", worst=[3])
    html = figure_html(linked, "t", bilip.POST_SCRIPT_LINKED_HOVER)
    assert "plotly_hover" in html and "{plot_id}" not in html


def test_images_helpers():
    imgs = (np.random.default_rng(0).uniform(size=(7, 8, 6)) * 255).astype(np.uint8)
    M = images.montage(imgs, ncols=3, pad=1)
    assert M.shape == (3 * 9 + 1, 3 * 7 + 1)
    assert images.png_data_uri(imgs[0]).startswith("data:image/png;base64,")
    Z = np.random.default_rng(1).normal(size=(7, 2))
    idx = images.spread_indices(Z, 4)
    assert len(set(idx.tolist())) == 4
    fig = images.thumbnails_figure(Z, imgs, idx)
    assert len(fig.layout.images) == 4
    g = 4
    grid = images.decoded_points_grid_figure(np.zeros((g * g, 2)), np.random.rand(g * g, 3), g,
                                             data=np.random.rand(9, 3))
    assert len(grid.data) == 3


def test_figure_html_is_standalone_and_keeps_frames():
    fig = walks.walk_animation([walks.WalkPanel("w", _walk(np.zeros(3), 5, 3, 0))])
    html = figure_html(fig, "walk")
    assert "<title>walk</title>" in html and "Plotly.newPlot" in html and "addFrames" in html
    assert len(html) > 1_000_000  # plotly.js inlined: opens offline


def test_walk_animation_speed_and_up_axis_act_in_the_browser():
    """Issue 15: speed and up axis are figure buttons (no server rerun): the speeds play at 4x the frame time
    and a quarter of it, and each up button turns every panel's camera to that axis."""
    from vdae_core.viz.common import camera
    from vdae_core.viz.walks import WalkPanel, walk_animation

    tr = np.random.default_rng(0).normal(size=(4, 6, 3))
    fig = walk_animation([WalkPanel("a", tr, "red"), WalkPanel("b", tr, "blue")], frame_ms=200, up="y",
                         up_buttons=True)
    play, ups = fig.layout.updatemenus
    durations = [b.args[1]["frame"]["duration"] for b in play.buttons if b.method == "animate" and b.args[0] is None]
    assert durations == [200, 800, 50]
    assert [b.label for b in ups.buttons] == ["x up", "y up", "z up"] and ups.active == 1
    for b, axis in zip(ups.buttons, "xyz"):
        assert b.method == "relayout" and b.args[0] == {"scene.camera": camera(axis), "scene2.camera": camera(axis)}
    assert len(fig.frames) == 4 and list(fig.frames[2].traces) == [0, 1, 2, 3]


@pytest.mark.parametrize("lo,hi", [(0.0, 0.05), (0.0, 0.2), (0.0, 0.5), (0.0, 0.9), (0.0, 1.3), (0.2, 3.0), (-3.0, 2.0)])
def test_log_ticks_are_round_values_inside_the_range(lo, hi):
    from vdae_core.viz.common import log_ticks

    vals, text = log_ticks(lo, hi)
    assert 3 <= len(vals) <= 7
    assert all(lo - 1e-9 <= v <= hi + 1e-9 for v in vals) and vals == sorted(vals)
    k = np.array([float(t) for t in text])
    assert np.allclose(np.log10(k), vals, atol=1e-3)  # the labels are the values the ticks stand at
    # round: each label has at most three significant digits (1, 1.05, 2.5, 20, 500 …)
    assert all(len(f"{x:.6e}".split("e")[0].rstrip("0").rstrip(".").replace(".", "").lstrip("-")) <= 3 for x in k)


def test_point_hover_shows_the_index_and_every_ground_truth_coordinate():
    rng = np.random.default_rng(0)
    theta, phi = rng.uniform(0, 6, 50), rng.uniform(0, 6, 50)
    fig = scatter.points_figure(rng.normal(size=(50, 2)), theta, "theta", hover_data={"theta": theta, "phi": phi})
    tr = fig.data[0]
    assert "point %{customdata[0]" in tr.hovertemplate and "phi: %{customdata[2]" in tr.hovertemplate
    assert tr.hovertemplate.count("theta") == 1                        # the colour value is not repeated
    assert np.allclose(np.asarray(tr.customdata)[:, 2], phi, atol=1e-5)  # the values travel with the points


def test_linked_cameras_script_goes_into_the_page_with_its_storage_key():
    from vdae_core.viz.export import embedded_figure_html, linked_cameras_script

    fig = walks.walk_animation([walks.WalkPanel("a", np.zeros((3, 2, 3))), walks.WalkPanel("b", np.zeros((3, 2, 3)))])
    html = figure_html(fig, "t", linked_cameras_script(None))        # the download: no storage, plotly.js inlined
    assert "plotly_relayouting" in html and "var key = null;" in html and len(html) > 3_000_000
    page = embedded_figure_html(fig, "/app/static/plotly.min.js", linked_cameras_script("vdae.k"))
    assert 'src="/app/static/plotly.min.js"' in page and 'var key = "vdae.k";' in page
    assert len(page) < 200_000                                        # plotly.js served by the app, not inlined


def test_top_row_subplot_titles_get_a_top_margin_and_plain_figures_do_not():
    """make_subplots puts the top row's titles just above the plot area: base_layout leaves them 40 px (with
    10 px they are clipped, as the topology audit's diagrams were); a figure with no title keeps 10 px."""
    from plotly.subplots import make_subplots

    from vdae_core.viz.common import base_layout
    titled = base_layout(make_subplots(rows=2, cols=2, subplot_titles=["a", "b", "", ""]))
    assert titled.layout.margin.t >= 30
    untitled = base_layout(make_subplots(rows=2, cols=2, subplot_titles=["", "", "", ""]))
    assert untitled.layout.margin.t == 10
    assert base_layout(go.Figure()).layout.margin.t == 10
    assert base_layout(go.Figure(), title="T").layout.margin.t == 40


def test_3d_scenes_keep_true_proportions_and_fit_the_view():
    """A flat torus (5.4 × 5.4 × 1.4) keeps its proportions, and its box has the norm of a flat square's
    (plotly's aspectmode="data" would draw it ~1.6× wider, leaving the frame); a cube is drawn smaller."""
    from vdae_core.viz.common import fitted_aspect, scene_layout
    a = fitted_aspect(np.array([5.4, 5.4, 1.4]))
    r = np.array([a["x"], a["y"], a["z"]])
    assert r[2] / r[0] == pytest.approx(1.4 / 5.4)
    assert np.linalg.norm(r) == pytest.approx(np.sqrt(2.0 + 0.35 ** 2))
    cube = fitted_aspect(np.ones(3))
    assert cube["x"] == cube["z"] < 1.0
    torus = np.random.default_rng(0).uniform([-2.7, -2.7, -0.7], [2.7, 2.7, 0.7], (500, 3))
    scene = scene_layout(points=torus)
    assert scene["aspectmode"] == "manual" and scene["aspectratio"]["z"] < 0.35
    assert scene_layout()["aspectmode"] == "data"
