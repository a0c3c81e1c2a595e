"""Frozen dataclass configs with JSON round trips and validation.

Every config field may carry ``metadata`` used by the UI to build forms:
``help`` (one sentence), ``min``/``max`` (inclusive bounds), ``choices`` (allowed values).
:func:`param` is the short way to declare such a field. Validation of bounds and choices happens
in ``__post_init__`` and raises :class:`~vdae_core.errors.UserInputError`.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, Optional, Sequence, Type, TypeVar

from .errors import UserInputError

C = TypeVar("C", bound="Config")


def param(default: Any, help: str = "", min: Optional[float] = None, max: Optional[float] = None,
          choices: Optional[Sequence[Any]] = None, advanced: bool = False) -> Any:
    """A dataclass field with UI/validation metadata."""
    md = {"help": help, "min": min, "max": max, "choices": tuple(choices) if choices else None,
          "advanced": advanced}
    if isinstance(default, (list, dict)):
        raise TypeError("use tuples for sequence defaults in frozen configs")
    return dataclasses.field(default=default, metadata=md)


@dataclasses.dataclass(frozen=True)
class Config:
    """Base class: validation from field metadata, dict/JSON round trips."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            md = f.metadata
            if v is None:
                continue
            if isinstance(v, list):  # JSON gives lists; keep configs hashable
                object.__setattr__(self, f.name, tuple(v))
                v = tuple(v)
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


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    return v
