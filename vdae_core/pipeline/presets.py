"""Presets in one place: what each named preset sets, and the one rule that composes a preset, a user's
overrides and a step scale — used by the CLI (``--preset``, ``--set``, ``--steps-scale``), the Train page, the
Home demo's job and ``compare``.

The preset's values come from the model's config (``QUICK``/``QUICK_SCALE``, ``LIVE``, ``PAPER``, ``TUNED_FILE``);
this module only names them and composes.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import MODELS

#: name -> (label on the Train page, overrides of a config class for a dataset name).
PRESETS: Dict[str, Tuple[str, Callable[[Any, Optional[str]], Dict[str, Any]]]] = {
    "defaults": ("Studio defaults (measured best)", lambda cfg, dataset: {}),
    "quick": ("Quick (seconds on a laptop: short training)", lambda cfg, dataset: cfg.quick_preset()),
    "live": ("Live (seconds; measured cost in quality)", lambda cfg, dataset: cfg.live_preset()),
    "paper": ("Paper (as published)", lambda cfg, dataset: cfg.paper_preset()),
    "tuned": ("Tuned for the dataset (validation sweep)", lambda cfg, dataset: cfg.tuned_preset(dataset or "")),
}


def compose(model_name: str, preset: Optional[str] = None, overrides: Optional[Dict[str, Any]] = None,
            scale: float = 1.0, dataset: Optional[str] = None) -> Dict[str, Any]:
    """The config overrides of a run: the preset's, then ``overrides`` on top, then every training length of the
    result multiplied by ``scale`` (``sample_steps``, a walk length, is not a training length).

    Parameters
    ----------
    model_name : str
        Registered model.
    preset : str or None
        A key of :data:`PRESETS`; None is ``defaults`` (no overrides).
    overrides : dict, optional
        The user's own settings; they win over the preset's.
    scale : float
        Multiplies every training length (> 0; 1 leaves them alone).
    dataset : str, optional
        The dataset, for the ``tuned`` preset.

    Raises
    ------
    UserInputError
        An unknown preset, one the model does not declare, or a bad scale.
    """
    cfg = MODELS.get(model_name).config_class
    name = preset or "defaults"
    if name not in PRESETS:
        raise UserInputError(f"unknown preset {name!r}: choose one of {sorted(PRESETS)}")
    out = {**PRESETS[name][1](cfg, dataset), **dict(overrides or {})}
    if scale != 1.0:
        out.update(cfg.scaled_steps(out, scale))
    return out


def quick_name(model_name: str) -> str:
    """The short preset of a model, under one name for every model (issue 33): ``quick``. A model that declares a
    ``live`` preset (its cost in quality measured) makes it its quick one (``QUICK = LIVE``; a contract test checks
    that they agree), so the app, the demo and the lessons say "Quick" for all."""
    return "quick"


def offered(model_name: str) -> List[str]:
    """The presets the Train page offers for a model, in order: its short one, the defaults, the paper's if any."""
    cfg = MODELS.get(model_name).config_class
    return [quick_name(model_name), "defaults"] + (["paper"] if cfg.PAPER else [])


def label(name: str) -> str:
    """The preset's label on the Train page ("Paper (as published)")."""
    return PRESETS[name][0]


def short_label(name: str) -> str:
    """The label without its explanation ("Paper"), as runs record it in their info."""
    return label(name).split(" (")[0]
