"""The live preset's cost in quality, as a table: the defaults and the live preset side by side per dataset.

The figures are measured by ``benchmarks/bench_presets.py`` (means over seeds, on the machine it names)
and stored beside the model (``ModelConfig.live_measured``); the app shows this table beside the preset.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

#: Where the measured files live (``ModelConfig.LIVE_MEASURED`` names one).
TUNED_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "tuned")

#: (key, column title, format) of the figures compared.
COLUMNS = (("train_s", "training (s)", "{:.1f}"), ("cc_mean", "CC with the exact diffusion map", "{:.4f}"),
           ("memorisation", "memorisation (exact sampler ≈ 1; higher is better)", "{:.2f}"),
           ("lump_top10", "lumpiness: densest 10% share (lower is better)", "{:.3f}"),
           ("off_manifold_spacings", "off the manifold, in data spacings (lower is better)", "{:.2f}"),
           ("mixing_step", "mixing from one start, steps (lower is better)", "{:.0f}"))


def read_measured(filename: str) -> Optional[Dict[str, Any]]:
    """The measured file ``filename`` in ``models/tuned/`` (None when absent or unreadable); imports no torch, so
    the Home page can read it."""
    try:
        with open(os.path.join(TUNED_DIR, filename)) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def live_cost_rows(measured: Dict[str, Any]) -> List[Dict[str, str]]:
    """One row per dataset and setting (``defaults``, ``live``) with the formatted figures.

    Parameters
    ----------
    measured : dict
        ``{"datasets": {name: {"default": {key: value}, "live": {key: value}}, ...}}``; a missing figure shows "–".
    """
    rows = []
    for name, pair in measured.get("datasets", {}).items():
        for setting in ("default", "live"):
            vals = pair.get(setting) or {}
            row = {"dataset": name, "settings": "defaults" if setting == "default" else "live",
                   "seeds": str(vals.get("seeds", "–"))}
            for key, title, fmt in COLUMNS:
                v = vals.get(key)
                row[title] = "–" if v is None else fmt.format(v)
            rows.append(row)
    return rows
