"""The house's layering (docs/ARCHITECTURE.md): every import inside ``vdae_core`` points down or sideways within
its own layer, and no two modules import each other, directly or round a longer circle. Imports inside functions
count too: a lazy import is still a dependency; imports under ``if TYPE_CHECKING:`` do not (never run)."""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = os.path.join(ROOT, "vdae_core")

#: Layer of each top-level part of vdae_core (lower numbers may be imported by higher ones, never the reverse).
LAYERS = {
    "__init__": 0, "foundation": 0,
    "geometry": 1,
    "metrics": 2, "data": 2, "training": 2,
    "models": 3, "viz": 3,
    "pipeline": 4,
    "study": 5, "lessons": 5,
    "api": 6, "cli": 6, "__main__": 6, "ui": 6,
}


def _modules():
    """{module name: path} of every module in vdae_core."""
    out = {}
    for dirpath, _, names in os.walk(PKG):
        for n in names:
            if n.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, n), ROOT)[:-3].replace(os.sep, ".")
                out[rel[:-9] if rel.endswith(".__init__") else rel] = os.path.join(dirpath, n)
    return out


MODULES = _modules()


def _imports(name: str, path: str):
    """vdae_core modules imported by ``name`` (``from pkg import sub`` resolves to the submodule)."""
    is_pkg = path.endswith("__init__.py")
    found = set()
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):  # typing-only imports are no dependency at run time
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in MODULES)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_part_has_a_layer():
    assert {_part(m) for m in MODULES} <= set(LAYERS)


def test_no_import_points_up():
    upward = [f"{a} (layer {LAYERS[_part(a)]}) imports {b} (layer {LAYERS[_part(b)]})"
              for a, deps in GRAPH.items() for b in deps if LAYERS[_part(b)] > LAYERS[_part(a)]]
    assert not upward, "\n".join(upward)


def test_no_import_circle():
    # Tarjan's strongly connected components: a component of more than one module is a circle. A package's
    # __init__ importing its own submodules (registration) is not a circle unless a submodule imports it back.
    index, low, stack, on, circles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not circles, circles


@pytest.mark.parametrize("bad", [{"a": {"b"}, "b": {"a"}}])
def test_the_circle_check_finds_a_circle(bad, monkeypatch):
    """The check itself: a two-module circle is reported."""
    monkeypatch.setattr(__import__(__name__), "GRAPH", bad)
    with pytest.raises(AssertionError):
        test_no_import_circle()
