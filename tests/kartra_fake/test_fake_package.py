"""The fake Kartra is a package of its own: it imports nothing of the product (nor Django),
and its modules import one another in one direction only, function-local imports included."""

from __future__ import annotations

import ast
from pathlib import Path

import kartra_fake

PACKAGE = Path(kartra_fake.__file__).parent
PRODUCT = ("kartra_mirror", "leads", "events", "django")


def _modules() -> dict[str, ast.Module]:
    """Every module of the package by dotted name, parsed."""
    return {
        ".".join(("kartra_fake", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(
            ".__init__"
        ): ast.parse(path.read_text(), filename=str(path))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def _imported(name: str, tree: ast.Module) -> set[str]:
    """Absolute names of every module ``tree`` imports, anywhere in it (function bodies and
    ``if TYPE_CHECKING:`` blocks too). ``from . import x`` counts as the package and as ``x``."""
    package = name if name == "kartra_fake" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imported(name, tree) & set(modules) - {name} for name, tree in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, str] = {}  # "open" while on the path, "done" once fully explored

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
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


def test_the_scan_sees_the_package_and_its_imports() -> None:
    graph = _graph()
    assert {"kartra_fake", "kartra_fake.account", "kartra_fake.server"} <= set(graph)
    assert "kartra_fake.model" in graph["kartra_fake.account"] | graph["kartra_fake.data"]
    assert "kartra_fake.phpform" in graph["kartra_fake.server"]


def test_the_cycle_finder_finds_a_hidden_circle() -> None:
    tree = ast.parse("def f():\n    from .b import x\n")
    graph = {
        "kartra_fake.a": _imported("kartra_fake.a", tree),
        "kartra_fake.b": {"kartra_fake.a"},
    }
    assert _cycle(graph) == ["kartra_fake.a", "kartra_fake.b", "kartra_fake.a"]


def test_no_import_circle_in_the_fake() -> None:
    assert _cycle(_graph()) is None


def test_the_fake_imports_nothing_of_the_product() -> None:
    leaks = {
        f"{name}: {target}"
        for name, tree in _modules().items()
        for target in _imported(name, tree)
        if target.split(".")[0] in PRODUCT
    }
    assert not leaks
