"""One small registry type, and the registries the project uses (one per kind).

Registration is explicit in one place: the table at the bottom names, for each registry, the package whose
import registers its built-in entries (its *provider*). A registry imports its provider on its first lookup,
so no caller imports a package for its side effect; a user's own entries register with the same decorator.
"""
from __future__ import annotations

import importlib
import threading
from typing import Any, Callable, Dict, Generic, List, Optional, TypeVar

from vdae_core.foundation.errors import UserInputError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries (functions or classes) registered by decorator.

    Examples
    --------
    >>> R = Registry("widgets")
    >>> @R.register("spinner", help="turns round")
    ... def make_spinner(n=1): return ["spin"] * n
    >>> R.build("spinner", n=2)
    ['spin', 'spin']
    """

    def __init__(self, kind: str, provider: Optional[str] = None):
        self.kind = kind
        self.provider = provider
        self._entries: Dict[str, T] = {}
        self._help: Dict[str, str] = {}
        self._tags: Dict[str, Dict[str, Any]] = {}
        self._loaded = provider is None
        self._loading = False
        self._lock = threading.RLock()

    def _load(self) -> None:
        """Import the provider once (other threads wait for it; lookups made while it imports see what is
        registered so far, as an import-time lookup always did)."""
        if self._loaded:
            return
        with self._lock:  # re-entrant: the importing thread's own lookups pass, other threads wait here
            if self._loaded or self._loading:
                return
            self._loading = True
            try:
                importlib.import_module(self.provider)
                self._loaded = True
            finally:
                self._loading = False

    def register(self, name: str, help: str = "", **tags: Any) -> Callable[[T], T]:
        """Register under ``name``; ``tags`` are facts about the entry that callers ask for with :meth:`tags`
        (e.g. ``finite=True``: a dataset that subsamples a fixed pool, so it has no fresh samples)."""
        def deco(obj: T) -> T:
            if name in self._entries:
                raise KeyError(f"{self.kind} '{name}' is registered twice")
            self._entries[name] = obj
            self._tags[name] = dict(tags)
            doc = help or (getattr(obj, "__doc__", "") or "").strip().split("\n")[0]
            self._help[name] = doc
            return obj

        return deco

    def get(self, name: str) -> T:
        self._load()
        if name not in self._entries:
            known = ", ".join(self.names()) or "none"
            raise UserInputError(f"unknown {self.kind} '{name}' (known: {known})")
        return self._entries[name]

    def __contains__(self, name: str) -> bool:
        self._load()
        return name in self._entries

    def names(self) -> List[str]:
        self._load()
        return sorted(self._entries)

    def help(self, name: str) -> str:
        self._load()
        return self._help.get(name, "")

    def tags(self, name: str) -> Dict[str, Any]:
        """The tags ``name`` was registered with ({} for an unknown name)."""
        self._load()
        return dict(self._tags.get(name, {}))

    def build(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.get(name)(*args, **kwargs)


# The registries and the package whose import registers each one's built-in entries.
DATASETS: Registry = Registry("dataset", provider="vdae_core.data")
MODELS: Registry = Registry("model", provider="vdae_core.models")
METRICS: Registry = Registry("metric", provider="vdae_core.metrics")
EMBEDDERS: Registry = Registry("embedder", provider="vdae_core.study.embeddings")
MANIFOLDS: Registry = Registry("latent space", provider="vdae_core.geometry.manifolds")
NETWORKS: Registry = Registry("network", provider="vdae_core.models.networks")
LATENT_VIEWS: Registry = Registry("latent view", provider="vdae_core.viz.latent_spaces")
LESSONS: Registry = Registry("lesson", provider="vdae_core.lessons")
