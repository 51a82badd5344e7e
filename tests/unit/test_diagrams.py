"""The diagrams next to the code say what the code does: generated from the table, or checked against it."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from dispatch.lifecycle import MATTER_TRANSITIONS, MATTER_WHY, TABLES, TRANSITIONS, WHY, Status, mermaid
from handlers.intake import flow
from handlers.intake.draft import MAIN_STEPS
from handlers.matters import flow as report
from handlers.templates import job_card

ROOT = Path(__file__).resolve().parents[2]
EDGE = re.compile(r"^\s*(\[\*\]|\w+)\s*-->\s*(\[\*\]|\w+)", re.MULTILINE)


def _block(text: str, begin: str, end: str) -> str:
    start = text.index(begin) + len(begin)
    return text[start : text.index(end, start)]


def _edges(diagram: str) -> set[tuple[str, str]]:
    return {(a, b) for a, b in EDGE.findall(diagram)}


@pytest.mark.parametrize("kind", ["repair", "matter"])
def test_the_readme_shows_the_life_cycle_the_table_allows(kind: str) -> None:
    """README's diagrams are `python -m dispatch.lifecycle [matter]`'s output; re-run it after a change."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "python -m dispatch.lifecycle" + ("" if kind == "repair" else " matter")
    begin = f"<!-- lifecycle: {command} -->\n```mermaid\n"
    assert _block(readme, begin, "```\n<!-- /lifecycle -->") == mermaid(kind)


@pytest.mark.parametrize("kind", ["repair", "matter"])
def test_the_generated_diagram_has_every_pair_and_nothing_else(kind: str) -> None:
    drawn = {(a, b) for a, b in _edges(mermaid(kind)) if "[*]" not in (a, b)}
    assert drawn == {(str(a), str(b)) for a, b in TABLES[kind]}
    assert set(WHY) <= TRANSITIONS and set(MATTER_WHY) <= MATTER_TRANSITIONS


def test_the_job_card_diagram_draws_only_moves_the_table_allows() -> None:
    doc = inspect.getdoc(job_card) or ""
    drawn = _edges(doc)
    assert drawn, "the job card's docstring has its diagram"
    assert {(a, b) for a, b in drawn if (Status(a), Status(b)) not in TRANSITIONS} == set()
    # every status that shows buttons on the card is in the picture
    assert set(job_card.ACTIONS) <= {a for a, _ in drawn} | {b for _, b in drawn}


def _step_moves(dialog: ModuleType) -> set[tuple[str, str]]:
    """(step, next step) for every literal Goto and next_after in a dialog's prompts and handlers."""
    moves: set[tuple[str, str]] = set()
    for name, step in dialog.STEPS.items():
        for fn in (step.prompt, step.handle):
            tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
            for call in ast.walk(tree):
                if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or not call.args:
                    continue
                arg = call.args[-1]
                if not isinstance(arg, ast.Constant) or not isinstance(arg.value, str):
                    continue
                if call.func.id == "Goto":
                    moves.add((name, arg.value))
                elif call.func.id == "next_after":
                    moves.add((name, MAIN_STEPS[MAIN_STEPS.index(arg.value) + 1]))
    return moves


@pytest.mark.parametrize(("dialog", "least"), [(flow, 15), (report, 8)], ids=["intake", "matters"])
def test_a_dialogs_diagram_draws_every_step_and_every_move_its_steps_make(
    dialog: ModuleType, least: int
) -> None:
    doc = inspect.getdoc(dialog) or ""
    drawn = _edges(doc)
    states = {a for a, _ in drawn} | {b for _, b in drawn}
    assert states - {"[*]"} == set(dialog.STEPS), "the diagram's states are the table's steps"
    moves = _step_moves(dialog)
    assert len(moves) >= least, "the scan found the steps' moves"
    # Back to the summary after an edit is intake's rule, stated in its docstring, not an arrow per step.
    assert sorted(m for m in moves - drawn if m[1] != "summary" or dialog is report) == []
