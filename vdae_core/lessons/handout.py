"""The lessons as one self-contained HTML handout (interactive figures, numbers included; no server needed)."""
from __future__ import annotations

import html
import re
import time
from typing import List, Sequence, Tuple

from vdae_core.lessons.base import Lesson, LessonResult


def inline_markdown(text: str) -> str:
    """The small markdown the lessons write (paragraphs, ``- `` lists, **bold**, *italic*, `code`) as HTML,
    everything else escaped."""
    out, items = [], []

    def span(s: str) -> str:
        s = html.escape(s)
        s = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", s)
        s = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<i>\1</i>", s)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", s)

    def flush() -> None:
        if items:
            out.append("<ul>" + "".join(f"<li>{span(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for block in re.split(r"\n\s*\n", text.strip()):
        for line in block.split("\n"):
            if line.startswith("- "):
                items.append(line[2:])
            elif line.strip():
                flush()
                out.append(f"<p>{span(line)}</p>")
        flush()
    return "\n".join(out)


#: Draw a figure when it scrolls near the view and free it when it is far away: a browser keeps only about 16
#: WebGL contexts (one per 3-D scene), and a handout has more, so drawing them all at once loses the first.
LAZY_JS = """
(function () {
  var drawn = {};
  var io = new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      var id = e.target.id, f = FIGS[id];
      if (e.isIntersecting && !drawn[id]) {
        drawn[id] = true;
        Plotly.newPlot(id, f.data, f.layout, {responsive: true, displaylogo: false}).then(function (gd) {
          if (f.frames) { Plotly.addFrames(gd, f.frames); }
        });
      } else if (!e.isIntersecting && drawn[id]) {
        Plotly.purge(id);
        drawn[id] = false;
      }
    });
  }, {rootMargin: "600px 0px"});
  Object.keys(FIGS).forEach(function (id) { io.observe(document.getElementById(id)); });
})();
"""


def _svg_2d(fig):
    """The figure with its 2-D WebGL scatters drawn as SVG (a handout's few thousand points draw fast either
    way, and each WebGL scatter would take one of the browser's few WebGL contexts)."""
    import plotly.graph_objects as go

    def svg(t):
        spec = t.to_plotly_json()
        spec.pop("type", None)
        return go.Scatter(spec)

    return go.Figure(data=[svg(t) if t.type == "scattergl" else t for t in fig.data], layout=fig.layout,
                     frames=fig.frames)


def handout_html(done: Sequence[Tuple[Lesson, LessonResult]], title: str = "VDAE Studio — lessons") -> str:
    """One HTML file: for each lesson its idea, figure (plotly, interactive), question and answer (folded, with the
    numbers measured on its runs), and the runs it used. plotly.js is inlined once, so it opens offline."""
    from plotly.offline import get_plotlyjs

    parts: List[str] = []
    for i, (lesson, res) in enumerate(done, 1):
        div = f"lesson-fig-{i}"
        fig_json = _svg_2d(res.figure).to_json().replace("</", "<\\/")  # no "</script>" inside the script
        runs = ", ".join(f"{s.label} ({s.model} on {s.data.get('dataset')}, n = {s.data.get('n', '—')}, seed "
                         f"{s.seed})" for s in lesson.runs)
        secs = res.numbers.get("train_seconds") or {}
        trained = "; ".join(f"{s.label} {secs[s.role]:.1f} s" for s in lesson.runs if s.role in secs)
        parts.append(f"""
<section id="{html.escape(lesson.key)}">
<h2>{i}. {html.escape(lesson.title)}</h2>
{inline_markdown(lesson.intro)}
<div id="{div}" class="fig" style="height:{int(res.figure.layout.height or 460)}px"></div>
<script>FIGS["{div}"]={fig_json};</script>
<p class="q"><b>Question.</b> {html.escape(lesson.question)}</p>
<details><summary>Answer (measured on these runs)</summary>
{inline_markdown(lesson.answer(res.numbers))}
</details>
<p class="runs">Runs: {html.escape(runs)}. Training time: {html.escape(trained)}.</p>
</section>""")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:"Source Sans Pro",Helvetica,Arial,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;
color:#31333f;font-size:17px;line-height:1.5}}section{{border-top:1px solid #ddd;padding-top:1em;margin-top:2em}}
.fig{{width:100%;min-height:440px}}.q{{background:#eef4fb;padding:.6em .8em;border-radius:6px}}
details{{background:#f6f6f6;padding:.5em .8em;border-radius:6px}}summary{{cursor:pointer;font-weight:600}}
.runs{{color:#666;font-size:14px}}</style>
<script>{get_plotlyjs()}</script>
<script>var FIGS={{}};</script></head>
<body><h1>{html.escape(title)}</h1>
<p>Guided experiments made with VDAE Studio, {time.strftime('%Y-%m-%d')}. Every number in an answer was measured on
the runs named under it. The figures are interactive: drag to rotate, scroll to zoom, ▶ Play where there is an
animation.</p>
{''.join(parts)}
<script>{LAZY_JS}</script>
</body></html>"""
