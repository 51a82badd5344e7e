"""The house's import rules: no module imports itself back through others, and the layers point one way.

Every import counts, wherever it stands: at the top, inside a function, or under TYPE_CHECKING. A circle
hidden in a function is still a circle a reader has to untangle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "dispatch", "storage")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


def _imports(path: Path, name: str, known: dict[str, Path]) -> Iterator[str]:
    """The project's modules that this file imports."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    yield f"{base}.{alias.name}"
                elif base in known:
                    yield base


def graph() -> dict[str, set[str]]:
    """module -> the project modules it imports."""
    known = _modules()
    return {name: set(_imports(path, name, known)) - {name} for name, path in known.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_check_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles() -> None:
    assert circles(graph()) == []


def test_layers_point_one_way() -> None:
    """storage knows nothing above it, dispatch knows only storage, handlers never reach into bot."""
    allowed = {
        "storage": {"storage"},
        "dispatch": {"dispatch", "storage"},
        "handlers": {"handlers", "dispatch", "storage"},
        "bot": {"bot", "handlers", "dispatch", "storage"},
    }
    wrong = [
        f"{module} -> {target}"
        for module, targets in graph().items()
        for target in targets
        if target.split(".")[0] not in allowed[module.split(".")[0]]
    ]
    assert wrong == []


def test_every_module_is_seen() -> None:
    """The graph covers the tree (a renamed folder would otherwise pass the checks above by being empty)."""
    modules = graph()
    assert {"handlers.router", "dispatch.lifecycle", "storage.db", "bot.settings"} <= modules.keys()
    assert sum(len(targets) for targets in modules.values()) > 200


def test_tests_share_helpers_through_tests_support_only() -> None:
    """A test module is never imported by another: what two tests share lives in tests/support."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                leaf = node.module.rsplit(".", 1)[-1]
                if node.module.startswith("tests.") and (leaf.startswith("test_") or leaf == "conftest"):
                    offenders.append(f"{path.relative_to(ROOT)} imports {node.module}")
    assert offenders == []
