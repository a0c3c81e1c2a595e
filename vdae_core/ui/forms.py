"""Forms generated from the frozen config dataclasses.

Each field's widget comes from its default's type and its ``param()`` metadata: ``choices`` gives a
select box, ``bool`` a checkbox, ``int``/``float`` a number input bounded by ``min``/``max``, anything
else a text box; ``help`` is the widget's tooltip; ``advanced`` fields go into an expander.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Iterable, Optional

import streamlit as st


def field_label(f: dataclasses.Field) -> str:
    """A field's label: its name in words, and what 0 means where 0 is a setting of its own ("0 = auto")."""
    zero = (f.metadata or {}).get("zero")
    return f.name.replace("_", " ") + (f" (0 = {zero})" if zero else "")


def field_widget(f: dataclasses.Field, value: Any, key: str) -> Any:
    """One widget for one config field, initialised to ``value``; returns the widget's value."""
    md = f.metadata or {}
    help_ = md.get("help") or None
    lo, hi, choices = md.get("min"), md.get("max"), md.get("choices")
    label = field_label(f)
    if choices:
        opts = list(choices)
        idx = opts.index(value) if value in opts else 0
        return st.selectbox(label, opts, index=idx, help=help_, key=key)
    if isinstance(f.default, bool) or isinstance(value, bool):
        return st.checkbox(label, value=bool(value), help=help_, key=key)
    if isinstance(f.default, int) and not isinstance(f.default, bool):
        kw = {}
        if lo is not None:
            kw["min_value"] = int(math.ceil(lo))
        if hi is not None:
            kw["max_value"] = int(math.floor(hi))
        return int(st.number_input(label, value=int(value), step=1, help=help_, key=key, **kw))
    if isinstance(f.default, float):
        kw = {}
        if lo is not None:
            kw["min_value"] = float(lo)
        if hi is not None:
            kw["max_value"] = float(hi)
        v = float(value)
        step = 10 ** math.floor(math.log10(abs(v))) / 10 if v else 0.01
        return float(st.number_input(label, value=v, step=float(step), format="%g", help=help_, key=key, **kw))
    text = st.text_input(label, value="" if value is None else str(value), help=help_, key=key)
    if isinstance(f.default, tuple):
        return tuple(x.strip() for x in text.split(",") if x.strip())
    return text


def config_form(config_cls, key: str, values: Optional[Dict[str, Any]] = None,
                exclude: Iterable[str] = (), columns: int = 3) -> Dict[str, Any]:
    """Widgets for every field of ``config_cls`` (a :class:`vdae_core.foundation.config.Config` dataclass).

    Parameters
    ----------
    key : prefix of the widget keys (change it to reset the widgets to ``values``)
    values : initial values by field name (default: the dataclass defaults)
    exclude : fields not shown (their ``values``/defaults are returned unchanged)

    Returns
    -------
    dict of every field's value (not validated: build the config with ``from_dict`` and catch
    ``UserInputError``).
    """
    values = dict(values or {})
    exclude = set(exclude)
    out: Dict[str, Any] = {}
    fields = [f for f in dataclasses.fields(config_cls)]
    essential = getattr(config_cls, "ESSENTIAL", None)
    if essential:  # the few settings that matter first (in the config's order of importance), the rest folded
        by_name = {f.name: f for f in fields if f.name not in exclude}
        basic = [by_name[n] for n in essential if n in by_name]
        advanced = [f for f in fields if f.name not in exclude and f.name not in essential]
    else:
        basic = [f for f in fields if f.name not in exclude and not (f.metadata or {}).get("advanced")]
        advanced = [f for f in fields if f.name not in exclude and (f.metadata or {}).get("advanced")]
    for f in fields:
        out[f.name] = values.get(f.name, f.default)
    cols = st.columns(columns)
    for i, f in enumerate(basic):
        with cols[i % columns]:
            out[f.name] = field_widget(f, out[f.name], f"{key}.{f.name}")
    if advanced:
        with st.expander("Advanced"):
            acols = st.columns(columns)
            for i, f in enumerate(advanced):
                with acols[i % columns]:
                    out[f.name] = field_widget(f, out[f.name], f"{key}.{f.name}")
    return out


def changed(config_cls, values: Dict[str, Any]) -> Dict[str, Any]:
    """Only the entries of ``values`` that differ from the dataclass defaults (for compact URLs/logs)."""
    defaults = {f.name: f.default for f in dataclasses.fields(config_cls)}
    return {k: v for k, v in values.items() if defaults.get(k, object()) != v}
