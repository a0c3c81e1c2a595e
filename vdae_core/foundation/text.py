"""Digits as superscripts and subscripts, for labels such as S², μ₃⁵φ₃ (no torch, no plotly)."""
from __future__ import annotations

_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def superscript(x: float) -> str:
    """``x`` in superscript digits: ``superscript(2) == "²"``, ``superscript(10.0) == "¹⁰"``; a non-integer keeps
    its point (``2.5`` -> "².⁵")."""
    return (str(int(x)) if float(x) == int(x) else f"{x:g}").translate(_SUP)


def subscript(j: int) -> str:
    """``j`` in subscript digits: ``subscript(3) == "₃"``."""
    return str(int(j)).translate(_SUB)
