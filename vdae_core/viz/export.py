"""Standalone exports of figures and tables."""
from __future__ import annotations

from typing import Optional

import plotly.graph_objects as go


def figure_html(fig: go.Figure, title: str = "VDAE Studio figure", post_script: Optional[str] = None) -> str:
    """A self-contained HTML page (plotly.js inlined, works offline), animations included."""
    html = embedded_figure_html(fig, None, post_script)
    return html.replace("<head>", f"<head><title>{title}</title>", 1)


def figure_json_size(fig: go.Figure) -> int:
    """Bytes of the figure's JSON (what the app sends to the browser)."""
    return len(fig.to_json().encode("utf-8"))


__all__ = ["figure_html", "figure_json_size", "linked_cameras_script", "embedded_figure_html"]


#: JavaScript (plotly's ``post_script``; ``{plot_id}`` is the figure's div) that gives every 3-D scene of a
#: figure one camera: rotating, zooming or panning one scene moves the others the same way, while dragging
#: (``plotly_relayouting``) and after. With ``storage_key`` the camera is kept in the browser's session storage
#: and restored when the figure is drawn again (a rerun redraws an embedded figure from scratch).
LINKED_CAMERAS_JS = """
(function () {
  var gd = document.getElementById('{plot_id}');
  if (!gd || !window.Plotly) { return; }
  var scenes = Object.keys(gd.layout).filter(function (k) { return /^scene\\d*$/.test(k); });
  var key = %(storage_key)s;
  var store = null;
  try { store = key ? window.sessionStorage : null; } catch (e) { store = null; }
  var busy = false;
  function apply(cam, except) {
    var upd = {};
    scenes.forEach(function (s) { if (s !== except) { upd[s + '.camera'] = cam; } });
    if (Object.keys(upd).length === 0) { return; }
    busy = true;
    Plotly.relayout(gd, upd).then(function () { busy = false; }, function () { busy = false; });
  }
  function sync(ev) {
    if (busy || !ev) { return; }
    var src = null;
    Object.keys(ev).some(function (k) { var m = k.match(/^(scene\\d*)\\.camera/); if (m) { src = m[1]; } return !!m; });
    if (!src) { return; }
    var cam = ev[src + '.camera'] || (gd._fullLayout[src] && gd._fullLayout[src].camera);
    if (!cam) { return; }
    if (store) { try { store.setItem(key, JSON.stringify(cam)); } catch (e) {} }
    apply(cam, src);
  }
  if (store) {
    try { var saved = store.getItem(key); if (saved) { apply(JSON.parse(saved), null); } } catch (e) {}
  }
  if (scenes.length > 1) { gd.on('plotly_relayouting', sync); }
  gd.on('plotly_relayout', sync);
})();
"""


def linked_cameras_script(storage_key: Optional[str] = None) -> str:
    """:data:`LINKED_CAMERAS_JS` for ``fig.to_html(post_script=...)``, remembering the camera under ``storage_key``."""
    import json

    return LINKED_CAMERAS_JS % {"storage_key": json.dumps(storage_key)}


def embedded_figure_html(fig: go.Figure, plotly_src: Optional[str], post_script: Optional[str] = None) -> str:
    """The figure as an HTML fragment for an embedded frame: plotly.js from ``plotly_src`` (a URL) or, with
    ``None``, inlined (4.8 MB: works with no server behind it)."""
    return fig.to_html(full_html=True, include_plotlyjs=plotly_src if plotly_src else True, post_script=post_script,
                       config={"displaylogo": False, "responsive": True}, auto_play=False,
                       default_width="100%", default_height=f"{int(fig.layout.height or 600)}px")
