"""Frozen dataclass configs with JSON round trips and validation.

Every config field may carry ``metadata`` used by the UI to build forms:
``help`` (one sentence), ``min``/``max`` (inclusive bounds), ``choices`` (allowed values).
:func:`param` is the short way to declare such a field. Validation of bounds and choices happens
in ``__post_init__`` and raises :class:`~vdae_core.foundation.errors.UserInputError`.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, Optional, Sequence, Type, TypeVar

import numpy as np

from vdae_core.foundation.errors import UserInputError

C = TypeVar("C", bound="Config")


def param(default: Any, help: str = "", min: Optional[float] = None, max: Optional[float] = None,
          choices: Optional[Sequence[Any]] = None, advanced: bool = False, zero: str = "") -> Any:
    """A dataclass field with UI/validation metadata; ``zero`` names what a value of 0 means when it is a
    setting of its own ("auto", "off", "none"): forms label the field with it."""
    md = {"help": help, "min": min, "max": max, "choices": tuple(choices) if choices else None,
          "advanced": advanced, "zero": zero}
    if isinstance(default, (list, dict)):
        raise TypeError("use tuples for sequence defaults in frozen configs")
    return dataclasses.field(default=default, metadata=md)


_KEEP = object()


def override(base: type, name: str, default: Any = _KEEP, **metadata: Any) -> Any:
    """Field ``name`` of the config class ``base``, re-declared in a subclass with another ``default`` and/or
    other :func:`param` metadata (``help``, ``min``...); what is not given stays the base's.

    A re-declared dataclass field keeps the place it has in ``base``, so forms list it where the base does.
    """
    f = base.__dataclass_fields__[name]
    return param(f.default if default is _KEEP else default, **{**f.metadata, **metadata})


@dataclasses.dataclass(frozen=True)
class Config:
    """Base class: validation from field metadata, dict/JSON round trips."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            md = f.metadata
            if v is None:
                if f.type in _SCALAR_TYPES and f.default is not None:
                    raise UserInputError(f"{f.name} needs a value (got null); its default is {f.default!r}")
                continue
            if isinstance(v, list):  # JSON gives lists; keep configs hashable
                object.__setattr__(self, f.name, tuple(v))
                v = tuple(v)
            if f.type in _SCALAR_TYPES:
                v = _coerce(f.name, f.type, v)
                object.__setattr__(self, f.name, v)
            if md.get("choices") and v not in md["choices"]:
                raise UserInputError(f"{f.name}={v!r} is not one of {list(md['choices'])}")
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                if v != v:  # NaN
                    raise UserInputError(f"{f.name} is NaN")
                if md.get("min") is not None and v < md["min"]:
                    raise UserInputError(f"{f.name}={v} is below its minimum {md['min']}")
                if md.get("max") is not None and v > md["max"]:
                    raise UserInputError(f"{f.name}={v} is above its maximum {md['max']}")
        self.validate()

    def validate(self) -> None:
        """Cross-field checks; subclasses override."""

    def to_dict(self) -> Dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls: Type[C], d: Dict[str, Any]) -> C:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise UserInputError(f"unknown {cls.__name__} option(s): {', '.join(sorted(unknown))}")
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls: Type[C], s: str) -> C:
        return cls.from_dict(json.loads(s))

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)


#: Field annotations (strings, as ``from __future__ import annotations`` leaves them) that :func:`_coerce` checks.
_SCALAR_TYPES = ("bool", "int", "float", "str")


def _coerce(name: str, kind: str, v: Any) -> Any:
    """``v`` as a value of the field's type ``kind``, or a UserInputError naming the field.

    The one type check for every value that reaches a config: ``--set`` (JSON), presets, forms and saved
    runs. A whole float is accepted for an int (``--set steps=1e3`` is 1000); a non-whole float, a bool
    for a number, a number for a bool and anything but a string for a string are refused, as are non-finite
    floats (NaN and ±inf).
    """
    import math
    import numbers

    def refuse(what: str) -> UserInputError:
        return UserInputError(f"{name} must be {what}, got {v!r} ({type(v).__name__})")

    if kind == "bool":
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        raise refuse("true or false")
    if kind == "str":
        if isinstance(v, str):
            return v
        raise refuse("a string")
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise refuse("a whole number" if kind == "int" else "a number")
    if not math.isfinite(float(v)):
        raise UserInputError(f"{name} must be a finite number, got {v!r}")
    if kind == "int":
        if isinstance(v, numbers.Integral):
            return int(v)
        if float(v).is_integer():
            return int(v)
        raise refuse("a whole number")
    return float(v)


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    return v
