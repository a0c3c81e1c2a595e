"""One small registry type, and the registries the project uses (one per kind)."""
from __future__ import annotations

from typing import Any, Callable, Dict, Generic, List, TypeVar

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

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: Dict[str, T] = {}
        self._help: Dict[str, str] = {}
        self._tags: Dict[str, Dict[str, Any]] = {}

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
        if name not in self._entries:
            known = ", ".join(self.names()) or "none"
            raise UserInputError(f"unknown {self.kind} '{name}' (known: {known})")
        return self._entries[name]

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def names(self) -> List[str]:
        return sorted(self._entries)

    def help(self, name: str) -> str:
        return self._help.get(name, "")

    def tags(self, name: str) -> Dict[str, Any]:
        """The tags ``name`` was registered with ({} for an unknown name)."""
        return dict(self._tags.get(name, {}))

    def build(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.get(name)(*args, **kwargs)


DATASETS: Registry = Registry("dataset")
MODELS: Registry = Registry("model")
METRICS: Registry = Registry("metric")
EMBEDDERS: Registry = Registry("embedder")
MANIFOLDS: Registry = Registry("latent space")
NETWORKS: Registry = Registry("network")
LATENT_VIEWS: Registry = Registry("latent view")
