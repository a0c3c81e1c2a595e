"""Loss curves per training phase, and small bar charts of metrics."""
from __future__ import annotations

import functools
import json
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vdae_core.viz.common import base_layout

PALETTE = ("#2e86ab", "#e4572e", "#76b041", "#8e6c8a", "#f2a541", "#4f5d75", "#17becf")


@functools.lru_cache(maxsize=32)
def _panels_layout(titles: Tuple[str, ...]) -> str:
    """The layout of ``make_subplots(1, len(titles))`` with those titles, as JSON (made once per set of titles:
    make_subplots and plotly's validation cost about 0.1 s a call, too much for a chart redrawn every second)."""
    return json.dumps(make_subplots(rows=1, cols=len(titles), subplot_titles=list(titles),
                                    horizontal_spacing=0.07).layout.to_plotly_json())


def loss_curves(records: Dict[str, List[Dict[str, float]]], phase_order: Optional[Sequence[str]] = None,
                height: int = 340, log_y: bool = True, current_phase: Optional[str] = None) -> go.Figure:
    """One panel per training phase with a line per loss term (``loss`` thicker).

    Built as plain data on a cached subplot layout and wrapped without plotly's validation: the Train page redraws
    it for every watching session about once a second while a training runs (``benchmarks/load.py``).

    Parameters
    ----------
    records : ``History.records``: phase -> list of {'step', 'time', term: value}
    phase_order : phases to draw, in order (phases without records get an empty panel saying so).
    log_y : log scale where a panel's values are all positive and span more than a decade.
    """
    phases = list(phase_order) if phase_order else list(records)
    phases = [p for p in phases if records.get(p) or p in (phase_order or [])] or ["training"]
    layout = json.loads(_panels_layout(tuple(f"{p} (running)" if p == current_phase else p for p in phases)))
    data: List[dict] = []
    colour = 0  # one colour per (phase, term) line: the legend never shows two lines in the same colour
    for c, ph in enumerate(phases, start=1):
        xa, ya = ("xaxis", "yaxis") if c == 1 else (f"xaxis{c}", f"yaxis{c}")
        ref = {"xaxis": "x" if c == 1 else f"x{c}", "yaxis": "y" if c == 1 else f"y{c}"}
        rows = records.get(ph) or []
        if not rows:
            data.append({"type": "scatter", "x": [0], "y": [None], "mode": "markers", "showlegend": False,
                         "hoverinfo": "skip", **ref})
            layout["annotations"].append({"text": "not started yet", "showarrow": False, "xref": f"{ref['xaxis']} domain",
                                          "yref": f"{ref['yaxis']} domain", "x": 0.5, "y": 0.5,
                                          "font": {"color": "#888"}})
            layout[xa].update(title={"text": "step"}, showticklabels=False)
            layout[ya].update(showticklabels=False)
            continue
        steps = np.array([r["step"] for r in rows], dtype=np.float64)
        terms = [k for k in rows[0] if k not in ("step", "time")]
        vals = np.array([[r.get(t, np.nan) for t in terms] for r in rows], dtype=np.float64)
        for i, term in enumerate(terms):
            data.append({"type": "scatter", "x": steps, "y": vals[:, i].copy(), "mode": "lines", "name": f"{ph}: {term}",
                         "line": {"color": PALETTE[colour % len(PALETTE)], "width": 2.5 if term == "loss" else 1.3},
                         "hovertemplate": f"{term}" + " %{y:.4g} at step %{x}<extra>" + ph + "</extra>", **ref})
            colour += 1
        finite = vals[np.isfinite(vals)]
        # log scale (ticks at whole decades) only where the panel spans more than a decade
        if log_y and finite.size and (finite > 0).all() and np.log10(finite.max() / finite.min()) > 1.0:
            layout[ya].update(type="log", dtick=1)
        layout[xa]["title"] = {"text": "step"}
        # Powers of ten, not SI prefixes: a loss of 1e-4 reads "10⁻⁴", never "100μ".
        layout[ya].update(exponentformat="power", **({"title": {"text": "loss terms"}} if c == 1 else {}))
    layout.update(title={}, height=height, uirevision="keep", showlegend=True,
                  legend={"orientation": "h", "y": -0.25, "x": 0, "xanchor": "left", "yanchor": "top"},
                  margin={"l": 10, "r": 10, "t": 60, "b": 10})  # the toolbar sits above the panel titles
    return go.Figure({"data": data, "layout": layout}, _validate=False)


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
