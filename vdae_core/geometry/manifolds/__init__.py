"""Latent spaces as classes: one module per manifold, each registered in :data:`MANIFOLDS`.

>>> from vdae_core.geometry.manifolds import MANIFOLDS, manifold_from_dict
>>> MANIFOLDS.names()
['euclidean', 'flat_torus', 'projective', 'so3', 'sphere', 'torus']
>>> manifold_from_dict({"kind": "sphere", "dim": 2}).label
'S²'
"""
from typing import Any, Dict

from ...registry import MANIFOLDS
from .base import Manifold

# Importing each module registers its class in MANIFOLDS.
from .euclidean import Euclidean
from .flat_torus import FlatTorus
from .projective import ProjectiveSpace
from .so3 import SO3
from .sphere import Sphere
from .torus import Torus


def build_manifold(kind: str, dim: int) -> Manifold:
    """The registered manifold ``kind``, with intrinsic dimension ``dim`` where its family has one
    (sphere, projective space, Euclidean space); the others (tori, SO(3)) have a fixed dimension."""
    import inspect

    cls = MANIFOLDS.get(kind)
    return cls(dim=int(dim)) if "dim" in inspect.signature(cls.__init__).parameters else cls()


def manifold_from_dict(d: Dict[str, Any]) -> Manifold:
    """Build a latent space from :meth:`Manifold.to_dict`'s output, e.g. ``{"kind": "sphere", "dim": 2}``."""
    return Manifold.from_dict(d)


__all__ = ["Manifold", "MANIFOLDS", "build_manifold", "manifold_from_dict", "Euclidean", "Sphere", "FlatTorus", "Torus", "SO3",
           "ProjectiveSpace"]
