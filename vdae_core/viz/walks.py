"""Animated random walks (client-side plotly frames in one figure), bursts and convergence curves.

The walk animation is a single figure whose ``frames`` hold every step, driven by plotly's own
play/pause buttons and step slider, so playing it needs no server round trip and a Streamlit rerun
does not reset the camera (``uirevision`` is fixed). Coordinates are float32 (base64 typed arrays in
the JSON) and each frame only carries the walkers and their short trails, not the mesh; 200 walkers
x 30 steps on two panels stays near 1.5 MB of JSON.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vdae_core.viz.common import LEARNED, START, TRUTH, base_layout, camera, f32, fitted_aspect, mesh_trace, scene_layout


@dataclasses.dataclass
class WalkPanel:
    """One panel of the animation: ``trajectory`` (T+1, n, 3) drawn in ``color``."""

    title: str
    trajectory: np.ndarray
    color: str = LEARNED


def _trail_points(traj: np.ndarray, t: int, trail: int):
    """Where every walker was in the ``trail`` steps before step ``t``, oldest first, and how old each point is.

    A walk step of a model jumps across the shape, so a line from one position to the next is a chord through
    the body; the trail is drawn as points that fade with their age instead (older: fainter).

    Returns
    -------
    xyz : ndarray (trail·n, 3) float32 (early steps repeat the start)
    fade : ndarray (trail·n,) float32, in (0, 1): 1 for the step just before ``t``, towards 0 for the oldest
    """
    T1, n, _ = traj.shape
    ages = np.arange(trail, 0, -1)                       # trail, ..., 1 steps ago
    idx = np.clip(t - ages, 0, T1 - 1)
    xyz = traj[idx].reshape(-1, 3)
    fade = np.repeat(1.0 - (ages - 1) / max(trail, 1), n).astype(np.float32)
    return xyz.astype(np.float32), fade


def _fade_scale(color: str):
    """A colour scale from almost transparent to ``color`` at 70% opacity (the trail's markers)."""
    r, g, b = (int(color.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)) if color.startswith("#") else (90, 90, 90)
    return [[0.0, f"rgba({r},{g},{b},0.08)"], [1.0, f"rgba({r},{g},{b},0.7)"]]


def _bounds(trajs: Sequence[np.ndarray], mesh=None, pad: float = 0.05):
    """Axis limits holding the mesh and (robustly, 0.5-99.5 percentiles) every walker position."""
    pts = [np.asarray(t, dtype=np.float64).reshape(-1, 3) for t in trajs]
    P = np.concatenate(pts)
    P = P[np.isfinite(P).all(1)]
    lo, hi = np.percentile(P, 0.5, axis=0), np.percentile(P, 99.5, axis=0)
    if mesh is not None:
        V = np.asarray(mesh[0], dtype=np.float64)
        lo, hi = np.minimum(lo, V.min(0)), np.maximum(hi, V.max(0))
    span = np.maximum(hi - lo, 1e-6 * max(float((hi - lo).max()), 1e-9))
    return lo - pad * span, hi + pad * span


def walk_animation(panels: Sequence[WalkPanel], mesh=None, trail: int = 5, frame_ms: int = 200,
                   height: int = 560, start: Optional[np.ndarray] = None, title: str = "",
                   marker_size: float = 3.5, uirevision: str = "walk", zoom: float = 1.6,
                   up: str = "z", backdrop: Optional[np.ndarray] = None, up_buttons: bool = False) -> go.Figure:
    """One figure, one 3-D scene per panel, a frame per step, play/pause and a step slider.

    Parameters
    ----------
    panels : list of :class:`WalkPanel`
        All trajectories must have the same number of steps T+1; walkers may differ per panel.
    mesh : (vertices (V, 3), faces (F, 3)), optional
        Drawn translucent under every panel (static: not repeated in the frames).
    trail : int
        Steps of history drawn behind each walker as points that fade with age (0: none).
    start : ndarray (3,), optional
        The common start point, marked in every panel.
    zoom : float
        Scales the scene box (plotly fits a unit box at its default camera, where flat shapes look small):
        a flat torus is drawn ``zoom`` times larger, a round shape about 1.3 times less.
    up : "x", "y" or "z"
        The axis drawn upwards (the Stanford bunny is y-up).
    backdrop : ndarray (N, 3), optional
        Points drawn in grey under every panel (the data, when there is no mesh).
    up_buttons : bool
        Buttons in the figure that turn every panel's camera to x, y or z up (in the browser).
    """
    if not panels:
        raise ValueError("walk_animation needs at least one panel")
    trajs = [f32(np.asarray(p.trajectory)[..., :3]) for p in panels]
    T1 = trajs[0].shape[0]
    if any(t.shape[0] != T1 for t in trajs):
        raise ValueError("all panels need the same number of steps")
    k = len(panels)
    fig = make_subplots(rows=1, cols=k, specs=[[{"type": "scene"}] * k],
                        subplot_titles=[p.title for p in panels], horizontal_spacing=0.02)
    dynamic: List[int] = []  # indices of the traces the frames update
    for j, (p, tr) in enumerate(zip(panels, trajs)):
        scene = "scene" if j == 0 else f"scene{j + 1}"
        if mesh is not None:
            fig.add_trace(mesh_trace(mesh[0], mesh[1], opacity=0.3, scene=scene))
        if backdrop is not None:
            B = f32(np.asarray(backdrop)[:, :3])
            fig.add_trace(go.Scatter3d(x=B[:, 0], y=B[:, 1], z=B[:, 2], mode="markers", scene=scene, hoverinfo="skip",
                                       marker={"size": 1.5, "color": "#c9ced6"}, showlegend=False, name="data"))
        if start is not None:
            s = f32(np.asarray(start).reshape(-1)[:3])
            fig.add_trace(go.Scatter3d(x=s[:1], y=s[1:2], z=s[2:3], mode="markers", scene=scene, showlegend=False,
                                       marker={"size": 8, "color": START, "symbol": "diamond"},
                                       hovertemplate="start<extra></extra>"))
        trail_xyz, fade = _trail_points(tr, 0, trail)
        dynamic.append(len(fig.data))
        fig.add_trace(go.Scatter3d(x=trail_xyz[:, 0], y=trail_xyz[:, 1], z=trail_xyz[:, 2], mode="markers",
                                   scene=scene, hoverinfo="skip", showlegend=False,
                                   marker={"size": 0.7 * marker_size, "color": fade, "cmin": 0.0, "cmax": 1.0,
                                           "colorscale": _fade_scale(p.color), "showscale": False}))
        dynamic.append(len(fig.data))
        fig.add_trace(go.Scatter3d(x=tr[0, :, 0], y=tr[0, :, 1], z=tr[0, :, 2], mode="markers", scene=scene,
                                   marker={"size": marker_size, "color": p.color}, name=p.title,
                                   hovertemplate="walker %{pointNumber}<extra>" + p.title + "</extra>",
                                   showlegend=False))
    # Frames as plain dicts: building a go.Scatter3d per trace and frame validated every array and cost 0.18 s of
    # the 0.24 s this loop took for 31 frames of 2 panels (a display control's redraw budget is 0.5 s).
    frames = []
    for t in range(T1):
        data = []
        for tr in trajs:
            xyz, fade = _trail_points(tr, t, trail)
            data.append({"type": "scatter3d", "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2],
                         "marker": {"color": fade}})
            data.append({"type": "scatter3d", "x": tr[t, :, 0], "y": tr[t, :, 1], "z": tr[t, :, 2]})
        frames.append({"data": data, "traces": dynamic, "name": str(t)})
    fig.frames = frames
    def play(ms):
        return {"frame": {"duration": int(ms), "redraw": True}, "fromcurrent": True,
                "transition": {"duration": 0}, "mode": "immediate"}

    pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate", "transition": {"duration": 0}}
    scenes = ["scene" if j == 0 else f"scene{j + 1}" for j in range(k)]
    # Speed and up axis are buttons in the figure: they act in the browser, with no server round trip.
    menus = [{"type": "buttons", "direction": "left", "x": 0.0, "y": 0.0, "xanchor": "left",
              "yanchor": "top", "pad": {"t": 30, "r": 10}, "showactive": False,
              "buttons": [{"label": "▶ Play", "method": "animate", "args": [None, play(frame_ms)]},
                          {"label": "▶ ×4 slower", "method": "animate", "args": [None, play(4 * frame_ms)]},
                          {"label": "▶ ×4 faster", "method": "animate", "args": [None, play(max(20, frame_ms // 4))]},
                          {"label": "❚❚ Pause", "method": "animate", "args": [[None], pause]}]}]
    if up_buttons:
        # above the panel titles (pad), never over them
        menus.append({"type": "buttons", "direction": "left", "x": 0.0, "y": 1.0, "xanchor": "left",
                      "yanchor": "bottom", "pad": {"b": 34}, "showactive": True,
                      "active": ["x", "y", "z"].index(up),
                      "buttons": [{"label": f"{a} up", "method": "relayout",
                                   "args": [{f"{sc}.camera": camera(a) for sc in scenes}]} for a in ("x", "y", "z")]})
    fig.update_layout(
        updatemenus=menus,
        sliders=[{"active": 0, "x": 0.38, "len": 0.62, "y": 0.0, "yanchor": "top", "pad": {"t": 20},
                  "currentvalue": {"prefix": "step ", "visible": True},
                  "steps": [{"label": str(t), "method": "animate",
                             "args": [[str(t)], {"mode": "immediate", "frame": {"duration": 0, "redraw": True},
                                                 "transition": {"duration": 0}}]} for t in range(T1)]}],
    )
    # Fixed, shared axis ranges: with autorange the scene would rescale every frame as walkers move.
    lo, hi = _bounds(trajs, mesh if mesh is not None else ((backdrop, None) if backdrop is not None else None))
    aspect = fitted_aspect(hi - lo, zoom)
    for j in range(k):
        key = "scene" if j == 0 else f"scene{j + 1}"
        axes = {a: {"visible": False, "range": [float(lo[i]), float(hi[i])], "autorange": False}
                for i, a in enumerate(("xaxis", "yaxis", "zaxis"))}
        fig.update_layout({key: {**scene_layout(("x", "y", "z"), uirevision, up), **axes, "aspectmode": "manual",
                                 "aspectratio": aspect}})
    base_layout(fig, title, height, uirevision)
    fig.update_layout(margin={"l": 0, "r": 0, "t": 40 + (45 if up_buttons else 0), "b": 60})
    return fig


def burst_figure(x0: np.ndarray, burst: np.ndarray, mesh=None, gt_probability: Optional[np.ndarray] = None,
                 backdrop: Optional[np.ndarray] = None, height: int = 500, title: str = "",
                 uirevision: str = "burst", up: str = "z") -> go.Figure:
    """Many one-step samples from one point (``burst`` (n, 3)), optionally over the mesh coloured by the
    ground-truth one-step probability of each vertex."""
    B = f32(np.asarray(burst)[:, :3])
    fig = go.Figure()
    if mesh is not None:
        if gt_probability is not None:
            p = np.asarray(gt_probability, dtype=np.float64)
            fig.add_trace(mesh_trace(mesh[0], mesh[1], opacity=1.0, intensity=p / max(p.max(), 1e-300),
                                     colorscale=[[0, "#eef2f7"], [0.02, "#cfe0f0"], [1, TRUTH]], showscale=True,
                                     colorbar_title="true step<br>prob. (rel.)"))
        else:
            fig.add_trace(mesh_trace(mesh[0], mesh[1], opacity=0.3))
    elif backdrop is not None:
        D = f32(np.asarray(backdrop)[:, :3])
        fig.add_trace(go.Scatter3d(x=D[:, 0], y=D[:, 1], z=D[:, 2], mode="markers", hoverinfo="skip",
                                   marker={"size": 1.5, "color": "#c9ced6"}, name="data"))
    fig.add_trace(go.Scatter3d(x=B[:, 0], y=B[:, 1], z=B[:, 2], mode="markers", name="one-step samples",
                               marker={"size": 3, "color": LEARNED},
                               hovertemplate="sample %{pointNumber}<extra></extra>"))
    s = f32(np.asarray(x0).reshape(-1)[:3])
    fig.add_trace(go.Scatter3d(x=s[:1], y=s[1:2], z=s[2:3], mode="markers", name="start",
                               marker={"size": 9, "color": START, "symbol": "diamond"}))
    fig.update_layout(scene={**scene_layout(("x", "y", "z"), uirevision, up), "xaxis": {"visible": False},
                             "yaxis": {"visible": False}, "zaxis": {"visible": False}})
    return base_layout(fig, title, height, uirevision)


def convergence_figure(curves: Dict[str, np.ndarray], floor: Optional[float] = None, height: int = 360,
                       title: str = "", ylabel: str = "total variation to π") -> go.Figure:
    """Distance to the stationary distribution per step, one line per walk; the i.i.d. sampling floor
    dashed."""
    colours = {0: TRUTH, 1: LEARNED}
    fig = go.Figure()
    for i, (name, y) in enumerate(curves.items()):
        y = np.asarray(y, dtype=np.float64)
        dash = "dot" if "exact" in name else None
        col = TRUTH if ("true" in name or "exact" in name) else colours.get(i, None)
        if "learned" in name or "model" in name:
            col = LEARNED
        fig.add_trace(go.Scatter(x=np.arange(len(y)), y=y, mode="lines+markers", name=name,
                                 line={"color": col, "dash": dash}, marker={"size": 4}))
    if floor is not None:
        fig.add_hline(y=floor, line_dash="dash", line_color="#888",
                      annotation_text="sampling-noise floor", annotation_position="bottom left")
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text=ylabel, range=[0, 1.02])
    return base_layout(fig, title, height)


def retention_figure(per_step, chance: float, title: str, height: int = 340) -> go.Figure:
    """Share of walk samples labelled like their start (steps + 1,), per step, with the chance level."""
    steps = list(range(len(per_step)))
    fig = go.Figure(go.Scatter(x=steps, y=list(per_step), mode="lines+markers", name="kept the start's class"))
    fig.add_hline(y=chance, line_dash="dot", annotation_text=f"chance {chance:.2f}", annotation_position="top left")
    fig.update_xaxes(title_text="walk step", dtick=1 if len(steps) <= 21 else None)
    fig.update_yaxes(title_text="share labelled like the start", range=[0, 1.05])
    fig.update_layout(showlegend=False)
    return base_layout(fig, title, height)


__all__ = ["WalkPanel", "walk_animation", "burst_figure", "convergence_figure", "retention_figure"]
