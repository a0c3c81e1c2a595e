"""Two runs side by side (issue 33, item 2): the shared colour range, camera, curves and bins of
``vdae_core.viz.side_by_side`` (the pages' AppTests are in test_app_pages.py)."""
import numpy as np
import pytest

from vdae_core.viz import side_by_side as sbs
from vdae_core.viz.bilip import bilip_data_figure, bilip_histogram, bilip_latent_figure, colour_limits
from vdae_core.viz.scatter import points_figure


def _points_marker(fig):
    return next(t.marker for t in fig.data if t.marker is not None and t.marker.colorscale is not None)


def test_the_shared_bilipschitz_limit_is_the_larger_of_the_two_runs_own_limits():
    rng = np.random.default_rng(0)
    calm = 1.0 + rng.exponential(0.1, 800)               # a near-isometry
    rough = 1.0 + rng.exponential(2.0, 500)
    rough[:5] = np.inf                                    # folds are drawn at the cap, not counted in it
    own = [colour_limits(calm)[1], colour_limits(rough)[1]]
    cmax = sbs.shared_bilip_cmax([calm, rough])
    assert cmax == max(own) and cmax > min(own)
    assert sbs.shared_bilip_cmax([rough, calm]) == cmax  # whichever run is A
    # every heatmap of both runs drawn with it has the same colour range, covering each run's own
    figs = [bilip_data_figure(rng.normal(size=(len(v), 3)), v, "K", cmax) for v in (calm, rough)]
    figs += [bilip_latent_figure(rng.normal(size=(len(v), 2)), v, "K", cmax) for v in (calm, rough)]
    for fig, lim in zip(figs, own + own):
        m = _points_marker(fig)
        assert (m.cmin, m.cmax) == (0.0, cmax) and m.cmax >= lim


def test_a_ground_truth_colour_shared_by_two_figures_covers_both_runs_values():
    a, b = np.linspace(0.0, 4.0, 50), np.linspace(-1.0, 2.5, 70)
    lo, hi = sbs.shared_colour_range([a, b])
    assert (lo, hi) == (-1.0, 4.0) and lo <= min(a.min(), b.min()) and hi >= max(a.max(), b.max())
    assert sbs.shared_colour_range([a, np.r_[b, np.nan]]) == (-1.0, 4.0)  # NaN ignored
    assert sbs.shared_colour_range([a, b], periodic=True) == (None, None)  # angles: [0, 2π) already
    assert sbs.shared_colour_range([np.arange(10) % 3, np.arange(8) % 3]) == (None, None)  # class labels
    assert sbs.shared_colour_range([None, None]) == (None, None)
    rng = np.random.default_rng(1)
    fa = points_figure(rng.normal(size=(50, 2)), a, "height", highlight=[3])
    fb = points_figure(rng.normal(size=(70, 3)), b, "height", highlight=[4])
    for fig in (fa, fb):
        sbs.set_colour_range(fig, lo, hi)
        m = _points_marker(fig)
        assert (m.cmin, m.cmax) == (lo, hi)
        ring = fig.data[-1].marker                       # the fixed-colour highlight is left alone
        assert ring.cmin is None and ring.cmax is None
    untouched = points_figure(rng.normal(size=(50, 2)), a, "height")
    sbs.set_colour_range(untouched, None, None)
    assert _points_marker(untouched).cmin is None


def test_two_3d_figures_become_one_figure_with_a_scene_each_and_one_colour_bar():
    rng = np.random.default_rng(2)
    v = rng.uniform(0, 1, 40)
    fa = points_figure(rng.normal(size=(40, 3)), v, "t", axis_names=["z1", "z2", "z3"])
    fb = points_figure(rng.normal(size=(40, 3)), v, "t", axis_names=["u1", "u2", "u3"])
    fig = sbs.scenes_side_by_side([fa, fb], ["A: one", "B: two"])
    assert [t.scene for t in fig.data] == ["scene", "scene2"]
    assert fig.layout.scene.xaxis.title.text == "z1" and fig.layout.scene2.xaxis.title.text == "u1"  # titled axes
    assert fig.layout.scene.domain.x[1] <= fig.layout.scene2.domain.x[0]
    assert [t.marker.showscale for t in fig.data] == [False, True]  # one colour bar for the shared scale
    assert {a.text for a in fig.layout.annotations} == {"A: one", "B: two"}
    assert fa.data[0].marker.showscale is not False  # the inputs are not changed
    both = sbs.scenes_side_by_side([fa, fb], ["A", "B"], one_colourbar=False)
    assert all(t.marker.showscale is not False for t in both.data)
    assert both.data[0].marker.colorbar.x <= both.layout.scene.domain.x[1]


def test_both_runs_convergence_curves_share_one_figure_and_the_true_walk_is_drawn_once():
    truth = np.linspace(1, 0.1, 11)
    a = {"true walk (exact)": truth, "learned walk (50 walkers)": np.linspace(1, 0.3, 11)}
    b = {"true walk (exact)": truth.copy(), "learned walk (50 walkers)": np.linspace(1, 0.5, 11)}
    fig = sbs.convergence_pair(a, b, 0.05)
    names = [t.name for t in fig.data]
    assert names == ["true walk (exact)", "A · learned walk (50 walkers)", "B · learned walk (50 walkers)"]
    assert fig.data[2].line.color == sbs.SECOND and fig.data[2].line.dash == "dash"
    assert fig.data[1].line.color != sbs.SECOND
    assert list(fig.layout.yaxis.range) == [0, 1.02] and fig.layout.yaxis.title.text
    b["true walk (exact)"] = truth * 0.9  # another true walk: each run's is drawn, named after its run
    names = [t.name for t in sbs.convergence_pair(a, b, None).data]
    assert "A · true walk (exact)" in names and "B · true walk (exact)" in names


def test_two_histograms_get_the_same_bins_and_axes():
    rng = np.random.default_rng(3)
    va, vb = 1 + rng.exponential(0.2, 300), 1 + rng.exponential(3.0, 300)
    ha, hb = bilip_histogram(va, "K"), bilip_histogram(vb, "K")
    sbs.share_histogram_axes([ha, hb], [va, vb])
    assert ha.data[0].xbins == hb.data[0].xbins and ha.layout.xaxis.range == hb.layout.xaxis.range
    assert ha.layout.yaxis.range == hb.layout.yaxis.range
    lo, hi = ha.layout.xaxis.range
    assert lo <= np.log10(min(va.min(), vb.min())) and hi >= np.log10(max(va.max(), vb.max()))
    edges = np.arange(ha.data[0].xbins.start, ha.data[0].xbins.end + ha.data[0].xbins.size, ha.data[0].xbins.size)
    tallest = max(np.histogram(np.log10(v), edges)[0].max() for v in (va, vb))
    assert ha.layout.yaxis.range[1] >= tallest


def test_a_walk_animation_in_half_the_width_puts_its_slider_under_the_buttons():
    from vdae_core.viz.walks import WalkPanel, walk_animation

    walk = np.random.default_rng(4).normal(size=(6, 10, 3))
    fig = walk_animation([WalkPanel("learned", walk)])
    h, b = fig.layout.height, fig.layout.margin.b
    sbs.controls_below(fig)
    s = fig.layout.sliders[0]
    assert (s.x, s.len) == (0.0, 1.0) and s.pad.t > 20
    assert fig.layout.height > h and fig.layout.margin.b > b


@pytest.mark.parametrize("periodic", [False, True])
def test_the_page_can_share_a_range_for_any_colouring(periodic):
    v = np.linspace(0.1, 6.0, 30)
    lims = sbs.shared_colour_range([v, v + 0.5], periodic)
    fig = points_figure(np.c_[v, v], v, "t", periodic)
    sbs.set_colour_range(fig, *lims)
    m = _points_marker(fig)
    assert (m.cmin, m.cmax) == ((0.0, 2 * np.pi) if periodic else (0.1, 6.5))
