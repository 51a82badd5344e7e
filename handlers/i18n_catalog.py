"""Catalog tooling (`python -m handlers.i18n_catalog update|check`): extract, merge and check translations."""

from __future__ import annotations

import ast
import copy
import io
import re
import sys
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from string import Formatter

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from handlers.i18n import DEFAULT_LANGUAGE, DOMAIN, LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "handlers", "dispatch")
# Which positional arguments are msgids. `t(...)`, `ctx.t(...)` and `self.t(...)` all end in the name
# `t`; `t.plural(singular, plural, n)` ends in `plural`.
KEYWORDS: dict[str, tuple[int, ...]] = {"t": (0,), "N_": (0,), "_": (0,), "plural": (0, 1)}
# Calls that format the translation with their keyword arguments (N_ only marks a string).
FORMATTING = frozenset({"t", "_", "plural"})
# A `# TRANSLATORS: ...` comment just above a call reaches the translator in the .po file.
COMMENT_TAG = "TRANSLATORS:"
BRACE_FLAG = "python-brace-format"
HINT = "run `python -m handlers.i18n_catalog update` and translate it"


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


def _display_path(path: Path) -> str:
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
    shown = _display_path(path)
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
            flags = [BRACE_FLAG] if any(_placeholders(i) for i in ids) else []
            catalog.add(
                message,
                locations=[(call.path, call.lineno)],
                auto_comments=_translator_comments(comments, call.lineno),
                flags=flags,
            )
    return catalog


def _call_problems(roots: Sequence[Path]) -> list[str]:
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
            wanted = frozenset().union(*(_placeholders(i) for i in ids))
            roots_wanted = {re.split(r"[.\[]", name, maxsplit=1)[0] for name in wanted}
            missing = sorted(roots_wanted - given)
            if missing:
                names = ", ".join(f"{name}=" for name in missing)
                problems.append(f"{where} for {_show(ids[0])} does not pass {names}")
    return problems


def po_path(locale_dir: Path, language: str) -> Path:
    """Where a language's catalog lives."""
    return locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _read(path: Path, language: str | None = None) -> Catalog:
    """Parse a .po/.pot file."""
    with path.open("rb") as fh:
        return read_po(fh, locale=language, domain=DOMAIN)


def _render(catalog: Catalog) -> bytes:
    """Serialize a catalog; line numbers are left out so unrelated edits do not rewrite the files."""
    buffer = BytesIO()
    write_po(buffer, catalog, width=100, include_lineno=False, sort_output=False, ignore_obsolete=False)
    return buffer.getvalue()


def _write_if_changed(path: Path, catalog: Catalog, previous_date: datetime | str | None) -> None:
    """Write a catalog only when more than its date changed, so a no-op update leaves git clean."""
    fresh_date = catalog.creation_date
    if previous_date is not None and path.exists():
        catalog.creation_date = previous_date
        if _render(catalog) == path.read_bytes():
            return
        catalog.creation_date = fresh_date
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_render(catalog))


def _merge(catalog: Catalog, template: Catalog) -> dict[str, int]:
    """Merge the template into a language's catalog and count what changed."""
    before = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    # A msgid that comes back gets its old translation back instead of starting over.
    for message in template:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if message.id and key not in catalog and key in catalog.obsolete:
            catalog[message.id] = catalog.obsolete.pop(key)
            before.add(key)
    # No fuzzy matching: a near-miss translation would be shown to residents as if it were right.
    catalog.update(copy.deepcopy(template), no_fuzzy_matching=True, update_header_comment=False)
    after = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    return {
        "added": len(after - before),
        "obsolete": len(before - after),
        "untranslated": sum(1 for m in catalog if m.id and not _translated(m)),
    }


def update(locale_dir: Path = LOCALE_DIR) -> dict[str, int]:
    """Rewrite baoxiu.pot from the code and merge it into every language's .po file."""
    template = extract(source_roots())
    pot = locale_dir / f"{DOMAIN}.pot"
    _write_if_changed(pot, template, _read(pot).creation_date if pot.exists() else None)
    counts = {"msgids": sum(1 for m in template if m.id)}
    for language in LANGUAGES:
        path = po_path(locale_dir, language)
        previous: datetime | str | None = None
        if path.exists():
            catalog = _read(path, language)
            previous = catalog.creation_date
        else:
            catalog = Catalog(locale=language, domain=DOMAIN, project="Baoxiu", charset="utf-8", fuzzy=False)
        for name, value in _merge(catalog, template).items():
            counts[f"{language}.{name}"] = value
        _write_if_changed(path, catalog, previous)
    return counts


@dataclass(frozen=True)
class _Fields:
    """The placeholders of a format string, or why it is not one."""

    names: frozenset[str]
    error: str | None = None


def _parse(text: str) -> _Fields:
    """Read the `{name}` fields of a str.format string."""
    names: set[str] = set()
    try:
        for _text, field, spec, conversion in Formatter().parse(text):
            if field is None:
                continue
            if field == "" or field.isdigit():
                return _Fields(frozenset(names), "positional placeholder (the bot fills in names only)")
            if conversion not in (None, "r", "s", "a"):
                return _Fields(frozenset(names), f"unknown conversion !{conversion}")
            # Placeholders nested in a format spec ({x:{width}}) are fields too.
            names.add(field)
            names |= _parse(spec or "").names
    except ValueError as exc:
        return _Fields(frozenset(names), str(exc))
    return _Fields(frozenset(names))


def _placeholders(text: str) -> frozenset[str]:
    """The placeholder names in a format string (empty when it does not parse)."""
    return _parse(text).names


def _strings(message: Message) -> tuple[str, ...]:
    """The message's translation forms (a new template entry has none yet)."""
    if message.string is None:
        return ()
    return (message.string,) if isinstance(message.string, str) else tuple(message.string)


def _translated(message: Message) -> bool:
    """Whether every form of the message has a translation."""
    strings = _strings(message)
    return bool(strings) and all(strings)


def _show(text: str) -> str:
    """A msgid short enough for a one-line problem report."""
    text = text.replace("\n", "\\n")
    return repr(text if len(text) <= 70 else text[:67] + "...")


def _format_problems(message: Message, language: str) -> list[str]:
    """Placeholder and syntax problems of one translated message."""
    ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
    strings = _strings(message)
    expected = frozenset().union(*(_placeholders(i) for i in ids))
    problems = []
    for index, text in enumerate(strings):
        if not text:
            continue
        where = f"{language} msgstr[{index}]" if len(strings) > 1 or len(ids) > 1 else f"{language} msgstr"
        fields = _parse(text)
        if fields.error:
            problems.append(f"{where} for {_show(ids[0])} is not valid for str.format: {fields.error}")
            continue
        if len(ids) == 1 or len(strings) == 1:
            # One form for every count must carry what the plural msgid carries.
            wanted = expected if len(ids) == 1 else _placeholders(ids[-1])
            ok = fields.names == wanted
        else:
            # With several forms, a singular may spell out the count instead of using {n}.
            ok = fields.names <= expected and fields.names >= expected - {"n"}
            wanted = expected
        if not ok:
            missing, extra = sorted(wanted - fields.names), sorted(fields.names - expected)
            detail = "; ".join(
                part
                for part in (
                    f"missing {', '.join('{' + n + '}' for n in missing)}" if missing else "",
                    f"unknown {', '.join('{' + n + '}' for n in extra)}" if extra else "",
                )
                if part
            )
            problems.append(f"{where} for {_show(ids[0])} has mismatched placeholders: {detail}")
    return problems


def _where(message: Message) -> str:
    """The first place in the code that uses a message."""
    if not message.locations:
        return ""
    filename, lineno = message.locations[0]
    return f"{filename}:{lineno}: " if lineno else f"{filename}: "


def check(locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Everything that keeps the catalogs from serving every string the code uses."""
    roots = source_roots()
    used = extract(roots)
    problems = _call_problems(roots)
    for message in used:
        if not message.id:
            continue
        ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        for text in ids:
            fields = _parse(text)
            if fields.error:
                problems.append(
                    f"{_where(message)}msgid {_show(text)} is not valid for str.format: {fields.error}"
                )
    catalogs: dict[str, Catalog] = {}
    for language in LANGUAGES:
        path = po_path(locale_dir, language)
        if not path.exists():
            problems.append(f"{_display_path(path)} is missing: run `python -m handlers.i18n_catalog update`")
            continue
        try:
            catalogs[language] = _read(path, language)
        except Exception as exc:  # any parse failure is one problem to report, not a crash
            problems.append(f"{_display_path(path)} cannot be read: {exc}")
    for language, catalog in catalogs.items():
        # Only the default language must be complete; English falls back to the msgid.
        complete = language == DEFAULT_LANGUAGE
        for message in used:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            entry = catalog.get(key, context=message.context)
            label = _show(key)
            if entry is None:
                problems.append(f"{_where(message)}msgid {label} is missing from {language}: {HINT}")
                continue
            if isinstance(entry.id, str) != isinstance(message.id, str) or (
                not isinstance(message.id, str) and tuple(entry.id) != tuple(message.id)
            ):
                problems.append(f"{_where(message)}{language} entry for {label} is out of date: {HINT}")
                continue
            if entry.fuzzy and (complete or _translated(entry)):
                problems.append(f"{_where(message)}{language} translation of {label} is fuzzy: review it")
            if complete and not _translated(entry):
                problems.append(f"{_where(message)}{language} translation of {label} is empty: translate it")
            problems.extend(_where(message) + p for p in _format_problems(entry, language))
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: `update` or `check`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in (["update"], ["check"]):
        print("usage: python -m handlers.i18n_catalog update|check", file=sys.stderr)
        return 2
    if args == ["update"]:
        for name, value in update().items():
            print(f"{name}: {value}")
        return 0
    problems = check()
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("ok: every msgid is translated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
