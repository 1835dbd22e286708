"""The product's layers only look down: ``kartra_mirror`` (settings, the Kartra client, the
shared API and admin machinery) <- ``leads`` <- ``events``. Each imports only what is below
it, function-local and ``TYPE_CHECKING`` imports included; the URL composition at the top
(``kartra_mirror/urls.py``, ``kartra_mirror/api/urls.py``) and the settings, which name the
apps, are the exceptions. ``kartra_fake`` has a test of its own (``test_fake_package``)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Bottom to top.
LAYERS = ("kartra_mirror", "leads", "events")
#: Modules of ``kartra_mirror`` that may name the apps above it.
COMPOSITION = {"kartra_mirror.urls", "kartra_mirror.api.urls", "kartra_mirror.settings"}


def _modules() -> dict[str, ast.Module]:
    """Every module of the product by dotted name, parsed (migrations left out: Django
    writes them, and they name other apps' migrations as their dependencies)."""
    modules = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            name = ".".join(parts).removesuffix(".__init__")
            modules[name] = ast.parse(path.read_text(), filename=str(path))
    return modules


def _imported(name: str, tree: ast.Module, *, is_package: bool) -> set[str]:
    """Absolute names of every module ``tree`` imports, anywhere in it. ``from . import x``
    counts as the package and as ``x``."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _imports() -> dict[str, set[str]]:
    """What each product module imports (any module, the product's or not)."""
    paths = {".".join(p.relative_to(ROOT).parts[:-1]) for p in ROOT.glob("*/**/__init__.py")}
    return {
        name: _imported(name, tree, is_package=name in paths) for name, tree in _modules().items()
    }


def _layer(module: str) -> str | None:
    top = module.partition(".")[0]
    return top if top in LAYERS else None


def _upward(imports: dict[str, set[str]]) -> list[str]:
    """``module -> imported module`` for every import of a layer above the importer's."""
    found = []
    for name, imported in sorted(imports.items()):
        if name in COMPOSITION:
            continue
        below = LAYERS.index(_layer(name))
        for target in sorted(imported & set(imports)):  # modules, not the names they hold
            layer = _layer(target)
            if layer is not None and LAYERS.index(layer) > below:
                found.append(f"{name} -> {target}")
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, str] = {}  # "open" while on the path, "done" once fully explored

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def _app_graph(imports: dict[str, set[str]]) -> dict[str, set[str]]:
    """Which layer imports which, the composition modules left out."""
    graph: dict[str, set[str]] = {layer: set() for layer in LAYERS}
    for name, imported in imports.items():
        if name not in COMPOSITION:
            graph[_layer(name)] |= {_layer(t) for t in imported if _layer(t)} - {_layer(name)}
    return graph


def test_the_scan_sees_every_layer_and_function_local_imports() -> None:
    imports = _imports()
    assert {"kartra_mirror.settings", "leads.models", "events.models"} <= set(imports)
    assert "leads.models" in imports["events.models"]
    tree = ast.parse("def f():\n    from events import models\n")
    assert "events.models" in _imported("leads.x", tree, is_package=False)


def test_no_layer_imports_one_above_it() -> None:
    assert _upward(_imports()) == []


def test_the_scan_finds_an_upward_import() -> None:
    imports = {
        "leads.x": {"events.models", "events.models.Activity", "kartra_mirror.db"},
        "events.models": {"leads.x"},
        "kartra_mirror.db": set(),
        "kartra_mirror.urls": {"events.models"},
    }
    assert _upward(imports) == ["leads.x -> events.models"]


def test_no_import_circle_between_layers() -> None:
    assert _cycle(_app_graph(_imports())) is None


def test_the_cycle_finder_finds_a_circle() -> None:
    graph = _app_graph({"leads.a": {"events.b"}, "events.b": {"leads.a"}})
    assert _cycle(graph) == ["events", "leads", "events"]
