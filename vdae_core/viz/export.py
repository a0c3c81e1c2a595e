"""Standalone exports of figures and tables."""
from __future__ import annotations

from typing import Optional

import plotly.graph_objects as go


def figure_html(fig: go.Figure, title: str = "VDAE Studio figure", post_script: Optional[str] = None) -> str:
    """A self-contained HTML page (plotly.js inlined, works offline), animations included."""
    html = fig.to_html(full_html=True, include_plotlyjs=True, post_script=post_script,
                       config={"displaylogo": False, "responsive": True}, auto_play=False,
                       default_width="100%", default_height=f"{int(fig.layout.height or 600)}px")
    return html.replace("<head>", f"<head><title>{title}</title>", 1)


def figure_json_size(fig: go.Figure) -> int:
    """Bytes of the figure's JSON (what the app sends to the browser)."""
    return len(fig.to_json().encode("utf-8"))


__all__ = ["figure_html", "figure_json_size"]
