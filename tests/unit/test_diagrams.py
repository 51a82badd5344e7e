"""The diagrams next to the code say what the code does: generated from the table, or checked against it."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from pathlib import Path

from dispatch.lifecycle import TRANSITIONS, WHY, Status, mermaid
from handlers.intake import flow
from handlers.intake.draft import MAIN_STEPS
from handlers.templates import job_card

ROOT = Path(__file__).resolve().parents[2]
EDGE = re.compile(r"^\s*(\[\*\]|\w+)\s*-->\s*(\[\*\]|\w+)", re.MULTILINE)


def _block(text: str, begin: str, end: str) -> str:
    return text[text.index(begin) + len(begin) : text.index(end)]


def _edges(diagram: str) -> set[tuple[str, str]]:
    return {(a, b) for a, b in EDGE.findall(diagram)}


def test_the_readme_shows_the_life_cycle_the_table_allows() -> None:
    """README's diagram is `python -m dispatch.lifecycle`'s output; re-run it after changing the table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = _block(
        readme, "<!-- lifecycle: python -m dispatch.lifecycle -->\n```mermaid\n", "```\n<!-- /lifecycle -->"
    )
    assert shown == mermaid()


def test_the_generated_diagram_has_every_pair_and_nothing_else() -> None:
    drawn = {(a, b) for a, b in _edges(mermaid()) if "[*]" not in (a, b)}
    assert drawn == {(str(a), str(b)) for a, b in TRANSITIONS}
    assert set(WHY) <= TRANSITIONS


def test_the_job_card_diagram_draws_only_moves_the_table_allows() -> None:
    doc = inspect.getdoc(job_card) or ""
    drawn = _edges(doc)
    assert drawn, "the job card's docstring has its diagram"
    assert {(a, b) for a, b in drawn if (Status(a), Status(b)) not in TRANSITIONS} == set()
    # every status that shows buttons on the card is in the picture
    assert set(job_card.ACTIONS) <= {a for a, _ in drawn} | {b for _, b in drawn}


def _step_moves() -> set[tuple[str, str]]:
    """(step, next step) for every literal Goto and next_after in the steps' prompts and handlers."""
    moves: set[tuple[str, str]] = set()
    for name, step in flow.STEPS.items():
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


def test_the_intake_diagram_draws_every_step_and_every_move_the_steps_make() -> None:
    doc = inspect.getdoc(flow) or ""
    drawn = _edges(doc)
    states = {a for a, _ in drawn} | {b for _, b in drawn}
    assert states - {"[*]"} == set(flow.STEPS), "the diagram's states are the table's steps"
    moves = _step_moves()
    assert len(moves) > 15, "the scan found the steps' moves"
    # Back to the summary after an edit is the rule the docstring states, not an arrow per step.
    assert sorted(m for m in moves - drawn if m[1] != "summary") == []
