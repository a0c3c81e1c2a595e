"""Two saved runs side by side on the analysis pages (issue 33): a toggle "Compare with another run", a picker
of the other saved runs, and the columns the pages draw each run in.

The choice is kept in plain session-state keys (:data:`ON`, :data:`OTHER`), so it follows the user from page to
page (each page's widgets have their own keys, which Streamlit drops when another page runs), and in the URL
(``compare=<the other run's folder>``), so a copied link reopens the same pair. The figures are made comparable
by :mod:`vdae_core.viz.side_by_side` (one colour range, one camera, one y-range).
"""
from __future__ import annotations

import dataclasses
import zlib
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import streamlit as st

from vdae_core.foundation.errors import UserInputError
from vdae_core.pipeline.run_index import RunInfo
from vdae_core.ui import cache, state, widgets

#: Session-state keys of the comparison (canonical values, never widget keys).
ON, OTHER = "cmp_run.on", "cmp_run.path"
#: The URL query parameter naming the other run (its folder, as ``run`` names the active one).
PARAM = "compare"
#: The two runs' tags in column headers, figure panels and legends.
TAGS = ("A", "B")


@dataclasses.dataclass(frozen=True)
class Side:
    """One run of the page: ``tag`` "A" (the active run) or "B" (the one compared with it)."""

    info: RunInfo
    run: Any
    label: str
    tag: str

    @property
    def path(self) -> str:
        return self.info.path

    @property
    def line(self) -> str:
        """The page's run line: "**A** · Run **label** (`folder`)"."""
        return f"**{self.tag}** · Run **{self.label}** (`{self.info.name}`)"

    def key(self, base: str) -> str:
        """A widget key of this side: ``base`` for the active run (the keys the page always had), ``base.b`` for
        the other."""
        return base if self.tag == TAGS[0] else f"{base}.{self.tag.lower()}"


def _copy(src: str, dst: str):
    def cb() -> None:
        if src in st.session_state:
            st.session_state[dst] = st.session_state[src]
    return cb


def _from_link(infos: List[RunInfo]) -> None:
    """A pasted link's ``compare=<folder>`` (read once): turns the comparison on with that run."""
    name = state.url_value(PARAM, str, None)
    if not name:
        return
    match = next((r for r in infos if r.name == name), None)
    if match is None:
        shown = "".join(ch for ch in name if ch.isalnum() or ch in "_.-")[:80]  # a link's text, never markup
        state.flash("warning", f"The run `{shown}` this link compares with is not on this server (or not "
                               "visible to this browser): showing the active run alone.")
        return
    st.session_state[ON], st.session_state[OTHER] = True, match.path


def pick(page: str, info: RunInfo) -> Optional[Side]:
    """Draw the comparison's toggle and picker under the page's header; return the other run, or ``None`` when
    the comparison is off (or the other run cannot be read, which an error box then says).

    Parameters
    ----------
    page : str
        The page's name (its widgets' keys).
    info : RunInfo
        The active run, left out of the picker.
    """
    ss = st.session_state
    infos = state.saved_runs()
    _from_link(infos)
    state.show_flashes()  # a warning about the link's other run, at once
    others = sorted((r for r in infos if r.path != info.path), key=lambda r: r.dataset != info.dataset)  # same data first
    labels = state.run_labels(infos + ([info] if all(r.path != info.path for r in infos) else []))
    c = st.columns([1, 3])
    on_key = f"w.cmp_run.on.{page}"
    on = c[0].toggle("Compare with another run", value=bool(ss.get(ON)) and bool(others), key=on_key,
                     on_change=_copy(on_key, ON), disabled=not others,
                     help="Show a second saved run beside this one: the same views with shared colour scales, "
                          "cameras and axes. The choice stays as you move between the Latent, Random walks, "
                          "Bi-Lipschitz and Topology audit pages, and goes into the link.")
    if not others:
        c[1].caption("No other saved run to compare with: train another one (a second model, seed or dataset).")
    if not (on and others):
        if PARAM in st.query_params:
            del st.query_params[PARAM]
        return None
    paths = [r.path for r in others]
    want = ss.get(OTHER)
    # a fresh picker for each active run (its options change with it)
    pick_key = f"w.cmp_run.path.{page}.{zlib.crc32(info.path.encode()) & 0xffffffff:08x}"
    chosen = c[1].selectbox("the other run (B)", paths, index=paths.index(want) if want in paths else 0,
                            key=pick_key, on_change=_copy(pick_key, OTHER), format_func=lambda p: labels[p],
                            help="Any saved run this browser may see: another model, seed or dataset.")
    ss[OTHER] = chosen
    other = next(r for r in others if r.path == chosen)
    if other.owner is None:  # a private run's folder name carries its upload's name: kept out of links
        state.show_view_in_url(**{PARAM: other.name})
    elif PARAM in st.query_params:
        del st.query_params[PARAM]
    try:
        with st.spinner("Loading the other run…"):
            run = cache.load_run(other.path)
    except UserInputError as e:
        widgets.error_box(e, "the other run cannot be shown")
        return None
    return Side(other, run, labels[other.path], TAGS[1])


def sides(info: RunInfo, run: Any, other: Optional[Side]) -> List[Side]:
    """The page's runs: the active one (A), then the other (B) when the comparison is on."""
    a = Side(info, run, state.run_label(info), TAGS[0])
    return [a] if other is None else [a, other]


def same_data(a: Side, b: Side) -> bool:
    """Whether both runs were trained on the same points (then one figure can hold both, one mesh or backdrop)."""
    xa, xb = a.run.dataset.X, b.run.dataset.X
    return np.shape(xa) == np.shape(xb) and np.array_equal(xa, xb)


def data_note(a: Side, b: Side) -> Optional[str]:
    """A caption when the two runs were trained on different data, else ``None``."""
    if same_data(a, b):
        return None
    da, db = a.run.dataset, b.run.dataset
    if a.info.dataset != b.info.dataset:
        return (f"**B is on other data**: {b.info.dataset} ({db.n:,} points in R^{db.ambient_dim}) beside A's "
                f"{a.info.dataset} ({da.n:,} points in R^{da.ambient_dim}). Shapes and colours describe different "
                "data; compare the numbers and whether each keeps its own data's structure.")
    return (f"**B is on another sample of {b.info.dataset}** ({db.n:,} points, seed {b.info.seed}, against A's "
            f"{da.n:,} points, seed {a.info.seed}): the same shape, drawn with other points.")


def header(pair: Sequence[Side]) -> None:
    """Under the picker: which run is A and which B, and whether they share their data."""
    if len(pair) < 2:
        return
    a, b = pair
    st.caption(f"{a.line} beside {b.line}.")
    note = data_note(a, b)
    if note:
        st.info(note, icon=":material/compare_arrows:")


def columns(pair: Sequence[Side], heading: bool = True) -> List[Tuple[Side, Any]]:
    """``(side, container)`` per run: the page's width for one run, two columns for two (each headed by its
    run's tag and label when ``heading``)."""
    if len(pair) <= 1:
        return [(side, st.container()) for side in pair]
    cols = st.columns(len(pair), gap="medium")
    for side, col in zip(pair, cols):
        if heading:
            col.markdown(f"**{side.tag}** · {side.label}")
    return list(zip(pair, cols))


def metric_grid(items: Sequence[Tuple[str, str, Optional[str]]], per_row: Optional[int] = None) -> None:
    """``(label, value, help)`` metrics in rows of ``per_row`` (all in one row by default): a page shows its
    numbers in one row for one run and in rows of two or three inside a run's column."""
    per_row = per_row or len(items)
    for i in range(0, len(items), per_row):
        row = items[i:i + per_row]
        cols = st.columns(per_row)
        for col, (label, value, helptext) in zip(cols, row):
            col.metric(label, value, help=helptext)


def per_row(pair: Sequence[Side], alone: int, paired: int) -> int:
    """Metrics per row: ``alone`` when one run fills the page, ``paired`` inside a run's column."""
    return alone if len(pair) == 1 else paired


def by_path(pair: Sequence[Side]) -> Dict[str, Side]:
    return {s.path: s for s in pair}


__all__ = ["ON", "OTHER", "PARAM", "TAGS", "Side", "pick", "sides", "same_data", "data_note", "header", "columns",
           "metric_grid", "per_row", "by_path"]
