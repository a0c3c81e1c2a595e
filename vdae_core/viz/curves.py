"""Loss curves per training phase, and small bar charts of metrics."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vdae_core.viz.common import base_layout

PALETTE = ("#2e86ab", "#e4572e", "#76b041", "#8e6c8a", "#f2a541", "#4f5d75", "#17becf")


def loss_curves(records: Dict[str, List[Dict[str, float]]], phase_order: Optional[Sequence[str]] = None,
                height: int = 340, log_y: bool = True, current_phase: Optional[str] = None) -> go.Figure:
    """One panel per training phase with a line per loss term (``loss`` thicker).

    Parameters
    ----------
    records : ``History.records``: phase -> list of {'step', 'time', term: value}
    phase_order : phases to draw, in order (phases without records get an empty panel saying so).
    log_y : log scale where a panel's values are all positive and span more than a decade.
    """
    phases = list(phase_order) if phase_order else list(records)
    phases = [p for p in phases if records.get(p) or p in (phase_order or [])] or ["training"]
    fig = make_subplots(rows=1, cols=len(phases), subplot_titles=[
        (f"{p} (running)" if p == current_phase else p) for p in phases], horizontal_spacing=0.07)
    colour = 0  # one colour per (phase, term) line: the legend never shows two lines in the same colour
    for c, ph in enumerate(phases, start=1):
        rows = records.get(ph) or []
        if not rows:
            fig.add_trace(go.Scatter(x=[0], y=[None], mode="markers", showlegend=False, hoverinfo="skip"), row=1, col=c)
            fig.add_annotation(text="not started yet", showarrow=False, xref="x domain", yref="y domain", x=0.5, y=0.5,
                               font={"color": "#888"}, row=1, col=c)
            fig.update_xaxes(title_text="step", showticklabels=False, row=1, col=c)
            fig.update_yaxes(showticklabels=False, row=1, col=c)
            continue
        steps = np.array([r["step"] for r in rows], dtype=np.float64)
        terms = [k for k in rows[0] if k not in ("step", "time")]
        for i, term in enumerate(terms):
            y = np.array([r.get(term, np.nan) for r in rows], dtype=np.float64)
            fig.add_trace(go.Scatter(x=steps, y=y, mode="lines", name=f"{ph}: {term}",
                                     line={"color": PALETTE[colour % len(PALETTE)], "width": 2.5 if term == "loss" else 1.3},
                                     hovertemplate=f"{term}" + " %{y:.4g} at step %{x}<extra>" + ph + "</extra>"),
                          row=1, col=c)
            colour += 1
        vals = np.array([[r.get(t, np.nan) for t in terms] for r in rows], dtype=np.float64)
        finite = vals[np.isfinite(vals)]
        # log scale (ticks at whole decades) only where the panel spans more than a decade
        if log_y and finite.size and (finite > 0).all() and np.log10(finite.max() / finite.min()) > 1.0:
            fig.update_yaxes(type="log", dtick=1, row=1, col=c)
        fig.update_xaxes(title_text="step", row=1, col=c)
        # Powers of ten, not SI prefixes: a loss of 1e-4 reads "10⁻⁴", never "100μ".
        fig.update_yaxes(title_text="loss terms" if c == 1 else None, exponentformat="power", row=1, col=c)
    base_layout(fig, "", height)
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.25, "x": 0, "xanchor": "left",
                                               "yanchor": "top"},
                      margin={"l": 10, "r": 10, "t": 60, "b": 10})  # the toolbar sits above the panel titles
    return fig


def metric_bars(labels: Sequence[str], means: Sequence[float], lows: Sequence[float], highs: Sequence[float],
                metric: str, height: int = 320, floors: Optional[Sequence[float]] = None,
                runs: Optional[Sequence[int]] = None) -> go.Figure:
    """Mean of one metric per group (model · dataset) with the range over its runs (min to max) as the error bar —
    never below zero for a non-negative metric, unlike mean ± std; with ``floors``, each group's noise floor as a
    black bar marker (the value independent samples of the data's law get); ``runs`` (the count per group)
    appears in the hover."""
    means = np.asarray(means, dtype=np.float64)
    up = np.maximum(np.asarray(highs, dtype=np.float64) - means, 0)
    down = np.maximum(means - np.asarray(lows, dtype=np.float64), 0)
    n = list(runs) if runs is not None else [None] * len(means)
    fig = go.Figure(go.Bar(x=list(labels), y=list(means), marker_color=PALETTE[0], name=metric,
                           error_y={"type": "data", "symmetric": False, "array": list(up), "arrayminus": list(down)},
                           customdata=np.c_[lows, highs, [k if k is not None else np.nan for k in n]],
                           hovertemplate="%{x}<br>mean %{y:.4g}<br>range %{customdata[0]:.4g} – %{customdata[1]:.4g}"
                                         "<br>n = %{customdata[2]}<extra></extra>"))
    if floors is not None:
        fig.add_trace(go.Scatter(x=list(labels), y=list(floors), mode="markers", name="noise floor",
                                 marker={"symbol": "line-ew", "size": 36, "line": {"width": 3, "color": "black"}},
                                 hovertemplate="floor %{y:.4g}<extra></extra>"))
    fig.update_yaxes(title_text=f"{metric} (bar: mean; whisker: min–max over runs)")
    fig.update_xaxes(title_text="dataset · model")
    return base_layout(fig, "", height)


__all__ = ["loss_curves", "metric_bars"]
