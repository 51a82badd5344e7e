"""The routing table against the code: every notice the domain emits has a template, every button kind one
handler, every dialog and command a function."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from handlers.buttons import KINDS, ChoiceTap
from handlers.routes import build_routes

ROOT = Path(__file__).resolve().parents[2]


def _kinds_in(node: ast.expr) -> list[str] | None:
    """The notice kinds an argument can be: a literal, or either branch of `a if c else b`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _kinds_in(node.body), _kinds_in(node.orelse)
        return body + orelse if body is not None and orelse is not None else None
    return None


def _tells_kind(node: ast.AST) -> bool:
    """`notices.person(kind, ...)` or `.chat(kind, ...)`: a function passing its own `kind` parameter on."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("person", "chat")
        and bool(node.args)
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id == "kind"
    )


def emitted_kinds() -> tuple[set[str], list[str]]:
    """Every notice kind `Notices.person(...)` / `.chat(...)` is called with, and the calls it can't tell."""
    found: set[str] = set()
    unknown: list[str] = []
    for folder in ("dispatch", "handlers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            # Helpers that pass their own `kind` parameter on (escalation's _ping and _chase).
            relays: dict[str, int] = {}
            for fn in ast.walk(tree):
                if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                    names = [a.arg for a in fn.args.args]
                    if "kind" in names and any(_tells_kind(call) for call in ast.walk(fn)):
                        relays[fn.name] = names.index("kind")
            for call in ast.walk(tree):
                if not isinstance(call, ast.Call) or (not call.args and not call.keywords):
                    continue
                func = call.func
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                if isinstance(func, ast.Attribute) and func.attr in ("person", "chat") and call.args:
                    arg = call.args[0]
                    if isinstance(arg, ast.Name) and arg.id == "kind":
                        continue  # a relay: its callers are read below
                    kinds = _kinds_in(arg)
                    if kinds is None:
                        unknown.append(where)
                    else:
                        found.update(kinds)
                elif isinstance(func, ast.Name) and func.id in relays:
                    index = relays[func.id]
                    keyword = next((k.value for k in call.keywords if k.arg == "kind"), None)
                    arg = keyword or (call.args[index] if len(call.args) > index else None)
                    kinds = _kinds_in(arg) if arg is not None else None
                    if kinds is None:
                        unknown.append(where)
                    else:
                        found.update(kinds)
    return found, unknown


def test_the_scan_sees_the_ways_notices_are_emitted() -> None:
    found, unknown = emitted_kinds()
    assert unknown == []
    # a literal, a conditional, and a kind relayed through escalation's helpers
    assert {"offer", "assigned", "reassigned", "escalate_supervisor", "chase_stall"} <= found


def test_every_notice_kind_has_a_template_and_every_template_a_notice() -> None:
    found, _ = emitted_kinds()
    routes = build_routes()
    templates = set(routes.templates) | set(routes.ticketless)
    assert not set(routes.templates) & set(routes.ticketless), "a kind is about a ticket or about none"
    assert sorted(found - templates) == [], "notices no template renders"
    assert sorted(templates - found) == [], "templates no notice uses"


def test_every_button_kind_has_exactly_one_handler() -> None:
    """The router answers a dialog's own choices; every other kind is routed, and nothing else is."""
    routes = build_routes()
    assert set(routes.buttons) == set(KINDS) - {ChoiceTap}
    handlers = [route.handle for route in routes.buttons.values()]
    assert len(set(handlers)) == len(handlers)


def test_every_entry_is_a_coroutine_function_taking_what_the_router_gives() -> None:
    routes = build_routes()
    for name, command in [*routes.commands.items(), *routes.deep_links.items()]:
        assert inspect.iscoroutinefunction(command), name
        assert len(inspect.signature(command).parameters) == 1, name
    for name, dialog in routes.dialogs.items():
        assert inspect.iscoroutinefunction(dialog), name
        assert len(inspect.signature(dialog).parameters) == 2, name
    for kind, route in routes.buttons.items():
        assert inspect.iscoroutinefunction(route.handle), kind
        hint = list(inspect.signature(route.handle).parameters.values())[1].annotation
        assert hint in (kind.__name__, kind), f"{route.handle.__name__} takes {hint}, not {kind.__name__}"


def test_the_table_is_built_fresh_and_shared_by_nothing_global() -> None:
    """Two tables are equal but not the same object: nothing registers itself at import."""
    first, second = build_routes(), build_routes()
    assert first == second and first is not second
