"""Two runs side by side (issue 33): one colour range, one camera and one set of curves for both.

The pages draw each run with the same figure builders as for one run; these helpers make the two drawings
comparable: a colour range that covers both runs' values (:func:`shared_colour_range`, :func:`set_colour_range`,
:func:`shared_bilip_cmax`), single-scene 3-D figures joined into one figure whose scenes the app links to one
camera (:func:`scenes_side_by_side`), and both runs' convergence curves on the same axes
(:func:`convergence_pair`) and histograms on the same bins (:func:`share_histogram_axes`).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vdae_core.viz.bilip import colour_limits
from vdae_core.viz.common import LEARNED, base_layout, is_categorical, log_ticks
from vdae_core.viz.panels import add_panel
from vdae_core.viz.walks import convergence_figure

#: Colour of the second run's curves where both runs share one figure (the first run keeps the usual colours).
SECOND = "#6a4c93"


def shared_colour_range(values: Sequence[Optional[np.ndarray]],
                        periodic: bool = False) -> Tuple[Optional[float], Optional[float]]:
    """One ``(cmin, cmax)`` covering the finite values of every array, for a ground-truth colour drawn in two figures.

    Parameters
    ----------
    values : sequence of ndarray or None
        The colour values of each figure (``None``: a figure without a colour array, left out).
    periodic : bool
        The values are angles: the cyclic scale is already fixed to [0, 2π) in every figure.

    Returns
    -------
    (cmin, cmax) : floats, or ``(None, None)`` when there is nothing to share: angles (fixed already), class
        labels (each class keeps its own colour; see :func:`~vdae_core.viz.common.categorical_spec`), or no
        finite value.
    """
    arrays = [np.asarray(v, dtype=np.float64).reshape(-1) for v in values if v is not None]
    if periodic or not arrays or all(is_categorical(a) for a in arrays):
        return None, None
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays])
    if not finite.size:
        return None, None
    return float(finite.min()), float(finite.max())


def set_colour_range(fig: go.Figure, cmin: Optional[float], cmax: Optional[float]) -> go.Figure:
    """Set ``cmin``/``cmax`` on every trace whose markers are coloured by an array on a colour scale (the points);
    traces in one fixed colour (guides, highlights, the grey copies across a seam) are left alone. Nothing is
    changed when either limit is ``None``."""
    if cmin is None or cmax is None:
        return fig
    for tr in fig.data:
        marker = getattr(tr, "marker", None)
        if marker is None or marker.colorscale is None or marker.color is None or isinstance(marker.color, str):
            continue
        marker.cmin, marker.cmax = float(cmin), float(max(cmax, cmin + 1e-12))
    return fig


def shared_bilip_cmax(values: Sequence[np.ndarray]) -> float:
    """The upper colour limit (log10 K) of bi-Lipschitz heatmaps of several runs drawn on one scale: the largest
    of the runs' own limits (:func:`~vdae_core.viz.bilip.colour_limits`), so no run is drawn more saturated than
    it would be alone."""
    return max(colour_limits(v)[1] for v in values)


def scenes_side_by_side(figs: Sequence[go.Figure], titles: Sequence[str], height: int = 520,
                        one_colourbar: bool = True, uirevision: str = "pair") -> go.Figure:
    """Single-scene 3-D figures as one figure with one scene per input, left to right (for
    :func:`vdae_core.ui.widgets.linked_figure`, which links the scenes' cameras).

    Parameters
    ----------
    figs : sequence of go.Figure
        Each with its traces in the default ``scene`` (as :func:`~vdae_core.viz.scatter.points_figure` draws
        3-D points); each scene's axes, aspect and camera are kept.
    titles : sequence of str
        One panel title per figure.
    one_colourbar : bool
        Show only the last figure's colour bar (the figures share one colour range); otherwise each colour
        bar stands at the right edge of its own panel.
    """
    k = len(figs)
    out = make_subplots(rows=1, cols=k, specs=[[{"type": "scene"}] * k], subplot_titles=list(titles),
                        horizontal_spacing=0.04)
    for j, f in enumerate(figs):
        add_panel(out, f, j + 1, hide_scale=one_colourbar and j < k - 1, colourbar=dict(x=0.0, len=0.7))
    base_layout(out, "", height, uirevision)
    return out.update_layout(margin={"t": 64})  # the panel titles clear of plotly's mode bar


def convergence_pair(curves_a: Dict[str, np.ndarray], curves_b: Dict[str, np.ndarray], floor: Optional[float],
                     tags: Tuple[str, str] = ("A", "B"), ylabel: str = "total variation to π",
                     height: int = 360) -> go.Figure:
    """Both runs' convergence curves in one :func:`~vdae_core.viz.walks.convergence_figure` (same axes, same
    y-range): a curve both runs share (the true walk, when both walked the same mesh from the same start with
    the same graph steps) is drawn once; the others are named after their run (``"A · learned walk …"``), the
    second run's dashed and its learned walk in :data:`SECOND`."""
    curves: Dict[str, np.ndarray] = {}
    for name, y in curves_a.items():
        other = curves_b.get(name)
        if other is not None and np.shape(other) == np.shape(y) and np.allclose(other, y, equal_nan=True):
            curves[name] = y
        else:
            curves[f"{tags[0]} · {name}"] = y
    second = [f"{tags[1]} · {name}" for name in curves_b if name not in curves]
    for name in curves_b:
        if name not in curves:
            curves[f"{tags[1]} · {name}"] = curves_b[name]
    fig = convergence_figure(curves, floor, height=height, ylabel=ylabel)
    for tr in fig.data:
        if tr.name in second:  # the second run's learned curve in its own colour, all its curves dashed
            tr.line.color = SECOND if tr.line.color == LEARNED else tr.line.color
            tr.line.dash = "dash" if tr.line.dash is None else tr.line.dash
    return fig


def share_histogram_axes(figs: Sequence[go.Figure], values: Sequence[np.ndarray], nbins: int = 60) -> None:
    """Give :func:`~vdae_core.viz.bilip.bilip_histogram` figures (log-scale x) of several runs the same bins,
    x-range, ticks and y-range, so the bars compare by eye. ``values`` are the constants K each figure counts."""
    logs = [np.log10(np.asarray(v, dtype=np.float64)[np.isfinite(v)]) for v in values]
    both = np.concatenate(logs) if logs else np.zeros(0)
    if not both.size:
        return
    lo, hi = float(both.min()), float(max(both.max(), both.min() + 1e-3))
    size = (hi - lo) / nbins
    edges = np.linspace(lo, hi + 1e-12, nbins + 1)
    top = max((int(np.histogram(x, edges)[0].max()) if x.size else 0) for x in logs)
    ticks, text = log_ticks(lo, hi, target=6)
    pad = 0.02 * (hi - lo)
    for fig in figs:
        fig.update_traces(xbins={"start": lo, "end": hi + 1e-12, "size": size}, autobinx=False,
                          selector={"type": "histogram"})
        fig.update_xaxes(range=[lo - pad, hi + pad], tickvals=ticks, ticktext=text)
        fig.update_yaxes(range=[0, 1.12 * max(top, 1)])


def controls_below(fig: go.Figure, extra: int = 64) -> go.Figure:
    """An animation of :func:`~vdae_core.viz.walks.walk_animation` for half the page's width: its step slider moves
    from beside the ▶ buttons to a full-width row under them (beside them it would run under the buttons), and
    the figure grows by ``extra`` pixels so the scenes keep their size."""
    if not fig.layout.sliders:
        return fig
    pad = fig.layout.sliders[0].pad.t or 0
    fig.layout.sliders[0].update(x=0.0, len=1.0, pad={"t": pad + extra})
    return fig.update_layout(height=int(fig.layout.height or 560) + extra,
                             margin={"b": int(fig.layout.margin.b or 0) + extra})
