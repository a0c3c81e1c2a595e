"""Image views: montages, thumbnails placed at their latent positions, decoded latent grids."""
from __future__ import annotations

import base64
import io
from typing import List, Optional, Sequence

import numpy as np
import plotly.graph_objects as go

from vdae_core.geometry.farthest_points import farthest_point_indices
from vdae_core.viz.common import base_layout, colour_spec, f32


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Images in [0, 1] floats or uint8 -> uint8, same shape ((n, h, w) grayscale or (n, h, w, 3) RGB)."""
    a = np.asarray(images)
    if a.dtype == np.uint8:
        return a
    return (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def images_from_points(X: np.ndarray, data_shape) -> np.ndarray:
    """Pixels flattened channel-first (n, C·H·W), as models see them, back to images: (n, H, W) for one
    channel, (n, H, W, C) otherwise (values unchanged)."""
    c, h, w = (int(v) for v in data_shape)
    imgs = np.asarray(X).reshape(len(X), c, h, w)
    return imgs[:, 0] if c == 1 else imgs.transpose(0, 2, 3, 1)


def montage(images: np.ndarray, ncols: int = 10, pad: int = 1) -> np.ndarray:
    """Tile images (n, h, w) or (n, h, w, 3) into one (H, W) or (H, W, 3) array (white padding)."""
    imgs = to_uint8(images)
    n, h, w = imgs.shape[:3]
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    out = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad) + imgs.shape[3:], 255, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, ncols)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = imgs[i]
    return out


def montage_figure(images: np.ndarray, ncols: int = 10, title: str = "", height: Optional[int] = None,
                   col_labels: Optional[Sequence[str]] = None, row_labels: Optional[Sequence[str]] = None,
                   x_title: str = "", y_title: str = "") -> go.Figure:
    """A montage of images (n, h, w) or (n, h, w, 3) as one figure; optional labels under the columns and
    beside the rows (a filmstrip's step numbers and walkers)."""
    M = montage(images, ncols)
    rgb = M if M.ndim == 3 else np.repeat(M[:, :, None], 3, axis=2)
    fig = go.Figure(go.Image(z=rgb, hoverinfo="skip"))
    h, w = np.asarray(images).shape[1:3]
    centre = lambda i, size: 1 + i * (size + 1) + (size - 1) / 2  # noqa: E731  (pad 1, as montage)
    for axis, labels, size, name in ((fig.update_xaxes, col_labels, w, x_title), (fig.update_yaxes, row_labels, h,
                                                                                   y_title)):
        if labels is None:
            axis(visible=False)
        else:
            axis(tickmode="array", tickvals=[centre(i, size) for i in range(len(labels))], ticktext=list(labels),
                 showgrid=False, zeroline=False, title_text=name, ticks="")
    h = height or int(min(640, 80 + 520 * M.shape[0] / max(M.shape[1], 1)))
    return base_layout(fig, title, h)


def filmstrip_steps(steps: int, max_columns: int = 11) -> List[int]:
    """The walk steps a filmstrip shows: all of 0..steps when they fit in ``max_columns``, else evenly spaced
    ones from 0 to ``steps`` (both kept)."""
    if steps + 1 <= max_columns:
        return list(range(steps + 1))
    return sorted(set(np.round(np.linspace(0, steps, max_columns)).astype(int).tolist()))


def png_data_uri(img: np.ndarray) -> str:
    """A small image (h, w) or (h, w, 3) as a ``data:image/png;base64,...`` URI."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(to_uint8(img)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def thumbnails_figure(Z2: np.ndarray, images: np.ndarray, thumb_idx: Sequence[int], color: Optional[np.ndarray] = None,
                      color_name: str = "", periodic: bool = False, axis_names: Sequence[str] = ("z1", "z2"),
                      thumb_frac: float = 0.06, height: int = 620) -> go.Figure:
    """Latent scatter (all points) with the images of ``thumb_idx`` drawn at their latent positions."""
    Z2 = np.asarray(Z2, dtype=np.float64)
    fig = go.Figure(go.Scattergl(x=f32(Z2[:, 0]), y=f32(Z2[:, 1]), mode="markers",
                                 marker={"size": 4, **colour_spec(color, periodic, color_name)},
                                 hovertemplate="point %{pointNumber}<extra></extra>", showlegend=False))
    span_x = float(np.ptp(Z2[:, 0])) or 1.0
    span_y = float(np.ptp(Z2[:, 1])) or 1.0
    imgs = []
    for i in thumb_idx:
        imgs.append(dict(source=png_data_uri(images[i]), xref="x", yref="y", x=float(Z2[i, 0]), y=float(Z2[i, 1]),
                         sizex=thumb_frac * span_x, sizey=thumb_frac * span_y, xanchor="center", yanchor="middle",
                         layer="above", sizing="contain", opacity=0.95))
    fig.update_layout(images=imgs)
    fig.update_xaxes(title_text=axis_names[0])
    fig.update_yaxes(title_text=axis_names[1])
    return base_layout(fig, "", height)


def spread_indices(Z2: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """``k`` indices of points spread over the latent (farthest-point sampling), for thumbnails."""
    return farthest_point_indices(Z2, k, seed)


def decoded_points_grid_figure(grid_z: np.ndarray, decoded: np.ndarray, g: int, data: Optional[np.ndarray] = None,
                               height: int = 480) -> go.Figure:
    """Points decoded from a g x g latent grid, drawn as grid lines in data space (first 3 coordinates),
    over the data in grey: how the decoder bends the latent plane."""
    X = np.asarray(decoded, dtype=np.float64)
    d = min(3, X.shape[1])
    Xg = X.reshape(g, g, -1)[..., :d]
    fig = go.Figure()
    if data is not None:
        D = f32(np.asarray(data)[:, :d])
        tr = go.Scatter3d if d == 3 else go.Scattergl
        kw = dict(x=D[:, 0], y=D[:, 1], mode="markers", marker={"size": 1.5, "color": "#c9ced6"}, name="data",
                  hoverinfo="skip")
        if d == 3:
            kw["z"] = D[:, 2]
        fig.add_trace(tr(**kw))
    for axis, name in ((0, "z1 lines"), (1, "z2 lines")):
        lines = Xg if axis == 0 else Xg.transpose(1, 0, 2)
        pts = np.concatenate([lines, np.full((g, 1, d), np.nan)], axis=1).reshape(-1, d)
        kw = dict(x=f32(pts[:, 0]), y=f32(pts[:, 1]), mode="lines", name=name,
                  line={"color": "#e4572e" if axis == 0 else "#2e86ab", "width": 3})
        if d == 3:
            kw["z"] = f32(pts[:, 2])
            fig.add_trace(go.Scatter3d(**kw))
        else:
            fig.add_trace(go.Scatter(**kw))
    if d == 3:
        fig.update_layout(scene={"aspectmode": "data", "uirevision": "grid"})
    return base_layout(fig, "decoded latent grid", height)


__all__ = ["images_from_points", "montage", "montage_figure", "thumbnails_figure", "spread_indices", "decoded_points_grid_figure",
           "png_data_uri", "to_uint8"]
