"""The strings to translate: every `t(...)`, `N_(...)` and `plural(...)` call in the source, as a catalog."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Formatter

from babel.messages.catalog import Catalog

from handlers.i18n import DOMAIN

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("bot", "handlers", "dispatch")
# Which positional arguments are msgids. `t(...)`, `ctx.t(...)` and `self.t(...)` all end in the name
# `t`; `t.plural(singular, plural, n)` ends in `plural`.
KEYWORDS: dict[str, tuple[int, ...]] = {"t": (0,), "N_": (0,), "_": (0,), "plural": (0, 1)}
# Calls that format the translation with their keyword arguments (N_ only marks a string).
FORMATTING = frozenset({"t", "_", "plural"})
# A `# TRANSLATORS: ...` comment just above a call reaches the translator in the .po file.
COMMENT_TAG = "TRANSLATORS:"
BRACE_FLAG = "python-brace-format"
HINT = "run `python -m handlers.i18n.catalog update` and translate it"


@dataclass(frozen=True)
class _Call:
    """One call of a translation function found in the code."""

    path: str
    lineno: int
    name: str
    node: ast.Call


def source_roots() -> list[Path]:
    """The directories whose python files hold user-facing strings."""
    return [ROOT / name for name in SOURCE_DIRS]


def _python_files(roots: Sequence[Path]) -> Iterator[Path]:
    """Every python file under the roots, in a stable order so the .pot does not churn."""
    for root in roots:
        if root.is_file():
            yield root
            continue
        yield from sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def display_path(path: Path) -> str:
    """A path relative to the repository, as it appears in the catalogs and in problems."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def _calls(path: Path) -> list[tuple[_Call, dict[int, str]]]:
    """The translation calls in a file in source order, with the file's comments by line."""
    # The syntax tree, unlike Babel's token scanner, does not take a string nested in an argument
    # (`t(d.get("window") or WINDOWS["asap"])`) for a msgid.
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    comments = {
        token.start[0]: token.string.lstrip("#").strip()
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    shown = display_path(path)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name in KEYWORDS:
            found.append((_Call(shown, node.lineno, name, node), comments))
    return sorted(found, key=lambda item: (item[0].lineno, item[0].node.col_offset))


def _literal(node: ast.expr) -> str | None:
    """The value of a plain string literal argument."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _msgid(call: _Call) -> str | tuple[str, ...] | None:
    """The msgid a call carries, or None when its arguments are not all literals."""
    args = call.node.args
    parts = [_literal(args[i]) if i < len(args) else None for i in KEYWORDS[call.name]]
    if any(part is None for part in parts):
        return None
    texts = tuple(part for part in parts if part is not None)
    return texts[0] if len(texts) == 1 else texts


def _translator_comments(comments: dict[int, str], lineno: int) -> list[str]:
    """The `# TRANSLATORS:` comment block directly above a line."""
    block: list[str] = []
    line = lineno - 1
    while line in comments:
        block.insert(0, comments[line])
        line -= 1
    for index, text in enumerate(block):
        if text.startswith(COMMENT_TAG):
            return [block[index].removeprefix(COMMENT_TAG).strip(), *block[index + 1 :]]
    return []


def extract(roots: Sequence[Path]) -> Catalog:
    """Collect every translatable string (with its places in the code) under the roots."""
    catalog = Catalog(project="Baoxiu", domain=DOMAIN, charset="utf-8", fuzzy=False)
    for path in _python_files(roots):
        for call, comments in _calls(path):
            message = _msgid(call)
            if not message:
                continue
            ids = (message,) if isinstance(message, str) else message
            # Marks the brace placeholders for translators' tools (Poedit, msgfmt -c).
            flags = [BRACE_FLAG] if any(placeholders(i) for i in ids) else []
            catalog.add(
                message,
                locations=[(call.path, call.lineno)],
                auto_comments=_translator_comments(comments, call.lineno),
                flags=flags,
            )
    return catalog


def call_problems(roots: Sequence[Path]) -> list[str]:
    """Calls that cannot be translated or will not fill in their placeholders."""
    problems = []
    for path in _python_files(roots):
        for call, _comments in _calls(path):
            where = f"{call.path}:{call.lineno}: {call.name}()"
            first = call.node.args[0] if call.node.args else None
            built = isinstance(first, ast.JoinedStr | ast.BinOp) or (
                isinstance(first, ast.Call)
                and isinstance(first.func, ast.Attribute)
                and _literal(first.func.value) is not None
            )
            if built:
                problems.append(
                    f"{where} gets a string built at run time, which no catalog can hold: pass a literal "
                    "and fill {placeholders} through keyword arguments"
                )
                continue
            message = _msgid(call)
            if not message or call.name not in FORMATTING:
                continue
            keywords = [kw.arg for kw in call.node.keywords]
            if None in keywords:
                continue  # `**values`: the names are not known here
            ids = (message,) if isinstance(message, str) else message
            given = set(keywords) | ({"n"} if call.name == "plural" else set())
            wanted = frozenset().union(*(placeholders(i) for i in ids))
            roots_wanted = {re.split(r"[.\[]", name, maxsplit=1)[0] for name in wanted}
            missing = sorted(roots_wanted - given)
            if missing:
                names = ", ".join(f"{name}=" for name in missing)
                problems.append(f"{where} for {show(ids[0])} does not pass {names}")
    return problems


def placeholders(text: str) -> frozenset[str]:
    """The placeholder names in a format string (empty when it does not parse)."""
    return parse_fields(text).names


def show(text: str) -> str:
    """A msgid short enough for a one-line problem report."""
    text = text.replace("\n", "\\n")
    return repr(text if len(text) <= 70 else text[:67] + "...")


@dataclass(frozen=True)
class Fields:
    """The placeholders of a format string, or why it is not one."""

    names: frozenset[str]
    error: str | None = None


def parse_fields(text: str) -> Fields:
    """Read the `{name}` fields of a str.format string."""
    names: set[str] = set()
    try:
        for _text, field, spec, conversion in Formatter().parse(text):
            if field is None:
                continue
            if field == "" or field.isdigit():
                return Fields(frozenset(names), "positional placeholder (the bot fills in names only)")
            if conversion not in (None, "r", "s", "a"):
                return Fields(frozenset(names), f"unknown conversion !{conversion}")
            # Placeholders nested in a format spec ({x:{width}}) are fields too.
            names.add(field)
            names |= parse_fields(spec or "").names
    except ValueError as exc:
        return Fields(frozenset(names), str(exc))
    return Fields(frozenset(names))
