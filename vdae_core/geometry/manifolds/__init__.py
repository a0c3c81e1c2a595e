"""Latent spaces as classes: one module per manifold, each registered in :data:`MANIFOLDS`.

>>> from vdae_core.geometry.manifolds import MANIFOLDS, manifold_from_dict
>>> MANIFOLDS.names()
['euclidean', 'flat_torus', 'projective', 'so3', 'sphere', 'torus']
>>> manifold_from_dict({"kind": "sphere", "dim": 2}).label
'S²'
"""
from typing import Any, Dict

from vdae_core.foundation.registry import MANIFOLDS
from vdae_core.geometry.manifolds.base import Manifold

# Importing each module registers its class in MANIFOLDS.
from vdae_core.geometry.manifolds.euclidean import Euclidean
from vdae_core.geometry.manifolds.flat_torus import FlatTorus
from vdae_core.geometry.manifolds.projective import ProjectiveSpace
from vdae_core.geometry.manifolds.so3 import SO3
from vdae_core.geometry.manifolds.sphere import Sphere
from vdae_core.geometry.manifolds.torus import Torus


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
