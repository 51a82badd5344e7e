"""Catalog tooling (`python -m handlers.i18n.catalog update|check`): merge the extracted strings into the .po
files, and check that every one is translated with the same placeholders."""

from __future__ import annotations

import copy
import sys
from collections.abc import Sequence
from datetime import datetime
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from handlers.i18n import DEFAULT_LANGUAGE, DOMAIN, LANGUAGES, LOCALE_DIR
from handlers.i18n.extract import (
    HINT,
    call_problems,
    display_path,
    extract,
    parse_fields,
    placeholders,
    show,
    source_roots,
)


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


def _strings(message: Message) -> tuple[str, ...]:
    """The message's translation forms (a new template entry has none yet)."""
    if message.string is None:
        return ()
    return (message.string,) if isinstance(message.string, str) else tuple(message.string)


def _translated(message: Message) -> bool:
    """Whether every form of the message has a translation."""
    strings = _strings(message)
    return bool(strings) and all(strings)


def _format_problems(message: Message, language: str) -> list[str]:
    """Placeholder and syntax problems of one translated message."""
    ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
    strings = _strings(message)
    expected = frozenset().union(*(placeholders(i) for i in ids))
    problems = []
    for index, text in enumerate(strings):
        if not text:
            continue
        where = f"{language} msgstr[{index}]" if len(strings) > 1 or len(ids) > 1 else f"{language} msgstr"
        fields = parse_fields(text)
        if fields.error:
            problems.append(f"{where} for {show(ids[0])} is not valid for str.format: {fields.error}")
            continue
        if len(ids) == 1 or len(strings) == 1:
            # One form for every count must carry what the plural msgid carries.
            wanted = expected if len(ids) == 1 else placeholders(ids[-1])
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
            problems.append(f"{where} for {show(ids[0])} has mismatched placeholders: {detail}")
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
    problems = call_problems(roots)
    for message in used:
        if not message.id:
            continue
        ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        for text in ids:
            fields = parse_fields(text)
            if fields.error:
                problems.append(
                    f"{_where(message)}msgid {show(text)} is not valid for str.format: {fields.error}"
                )
    catalogs: dict[str, Catalog] = {}
    for language in LANGUAGES:
        path = po_path(locale_dir, language)
        if not path.exists():
            problems.append(f"{display_path(path)} is missing: run `python -m handlers.i18n.catalog update`")
            continue
        try:
            catalogs[language] = _read(path, language)
        except Exception as exc:  # any parse failure is one problem to report, not a crash
            problems.append(f"{display_path(path)} cannot be read: {exc}")
    for language, catalog in catalogs.items():
        # Only the default language must be complete; English falls back to the msgid.
        complete = language == DEFAULT_LANGUAGE
        for message in used:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            entry = catalog.get(key, context=message.context)
            label = show(key)
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
        print("usage: python -m handlers.i18n.catalog update|check", file=sys.stderr)
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
