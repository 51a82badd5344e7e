"""Translations: every msgid has a sound zh_CN translation, placeholders survive, languages normalize."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.pofile import read_po, write_po

from handlers.i18n import LOCALE_DIR, Translator, normalize_language
from handlers.i18n.catalog import check, po_path, update
from handlers.i18n.extract import extract, source_roots


def test_every_msgid_is_translated() -> None:
    """The guard for future strings: fails until `update` has run and zh_CN is filled in."""
    problems = check()
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    ("msgid", "values", "expected"),
    [
        ("Cancel", {}, "取消"),
        ("✅ Confirm", {}, "✅ 确认提交"),
        ("Your repair request is filed. Number: {number}", {"number": "BX-1"}, "报修已提交，报修单号：BX-1"),
        ("Which building?", {}, "请选择楼栋："),
    ],
)
def test_zh_cn_translates_known_strings(msgid: str, values: dict[str, object], expected: str) -> None:
    """A few strings residents see all the time."""
    assert Translator("zh_CN")(msgid, **values) == expected


def test_english_falls_back_to_the_msgid() -> None:
    """en.po may leave msgstr empty: the English msgid is the text."""
    assert Translator("en")("Your repair request is filed. Number: {number}", number="BX-1") == (
        "Your repair request is filed. Number: BX-1"
    )


def test_empty_message_is_not_the_catalog_header() -> None:
    """gettext("") returns the .po header; a blank stored value must stay blank."""
    assert Translator("zh_CN")("") == ""


def _fields(text: str) -> list[tuple[str, str]]:
    """The (name, spec) of each placeholder."""
    return [(name, spec or "") for _, name, spec, _ in Formatter().parse(text) if name]


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_placeholders_survive_formatting(language: str) -> None:
    """Every value handed to a translated string shows up in the text, in both languages."""
    t = Translator(language)
    checked = 0
    for message in extract(source_roots()):
        if not message.id or not isinstance(message.id, str) or not _fields(message.id):
            continue
        # Distinct numbers fit any format spec in use ({n}, {lat:.5f}) and are easy to find again.
        values = {name: 40001 + i for i, (name, _spec) in enumerate(dict(_fields(message.id)).items())}
        text = t(message.id, **values)
        for value in values.values():
            assert str(value) in text, (language, message.id, text)
        assert not re.search(r"\{\w+[^}]*\}", text), (language, message.id, text)
        checked += 1
    assert checked > 10


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("zh-hans", "zh_CN"),
        ("zh-CN", "zh_CN"),
        ("zh-TW", "zh_CN"),
        ("zh", "zh_CN"),
        ("en-US", "en"),
        ("en", "en"),
        ("fr", "zh_CN"),
        (None, "zh_CN"),
        ("", "zh_CN"),
    ],
)
def test_normalize_language(code: str | None, expected: str) -> None:
    """Client language codes map onto the two catalogs; anything else gets the default."""
    assert normalize_language(code) == expected


def test_normalize_language_honours_the_given_default() -> None:
    """A deployment whose default is English keeps French speakers in English."""
    assert normalize_language("fr", default="en") == "en"


def test_extract_reads_calls_not_nested_strings(tmp_path: Path) -> None:
    """Keywords t, N_, _ and plural; a dictionary key inside an argument is not a msgid."""
    source = tmp_path / "sample.py"
    source.write_text(
        "def f(t, ctx, d, W, n):\n"
        "    t(d.get('window') or W['asap'])\n"
        "    # TRANSLATORS: shown on a button\n"
        "    ctx.t('Hello {name}', name='x')\n"
        "    N_('Marked')\n"
        "    _('Underscore')\n"
        "    t.plural('{n} photo', '{n} photos', n)\n",
        encoding="utf-8",
    )
    catalog = extract([source])
    ids = [m.id for m in catalog if m.id]
    assert ids == ["Hello {name}", "Marked", "Underscore", ("{n} photo", "{n} photos")]
    hello = catalog.get("Hello {name}")
    assert hello is not None
    assert hello.auto_comments == ["shown on a button"]
    assert "python-brace-format" in hello.flags


@pytest.fixture
def locale_copy(tmp_path: Path) -> Path:
    """The project's catalogs, copied so a test can break them."""
    target = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, target)
    update(target)
    return target


def _edit(locale_dir: Path, language: str, msgid: str, msgstr: str, *, fuzzy: bool = False) -> None:
    """Overwrite one translation in a copied catalog."""
    path = po_path(locale_dir, language)
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    message = catalog.get(msgid)
    assert message is not None
    message.string = msgstr
    if fuzzy:
        message.flags.add("fuzzy")
    with path.open("wb") as fh:
        write_po(fh, catalog)


def test_update_keeps_translations_and_is_idempotent(locale_copy: Path) -> None:
    """A second update changes nothing and no translation is lost."""
    before = {p: p.read_bytes() for p in locale_copy.rglob("*.po*")}
    counts = update(locale_copy)
    assert {p: p.read_bytes() for p in locale_copy.rglob("*.po*")} == before
    assert counts["zh_CN.added"] == counts["zh_CN.obsolete"] == 0
    assert check(locale_copy) == check()


@pytest.mark.parametrize(
    ("msgstr", "fuzzy", "expected"),
    [
        ("报修已提交，报修单号：{num}", False, "mismatched placeholders: missing {number}; unknown {num}"),
        ("报修已提交。", False, "mismatched placeholders: missing {number}"),
        ("报修已提交，报修单号：{number", False, "not valid for str.format"),
        ("报修已提交，报修单号：{}", False, "not valid for str.format"),
        ("", False, "is empty"),
        ("报修已提交，报修单号：{number}", True, "is fuzzy"),
    ],
)
def test_check_reports_bad_translations(locale_copy: Path, msgstr: str, fuzzy: bool, expected: str) -> None:
    """Each kind of broken zh_CN entry is named, with the place in the code."""
    msgid = "Your repair request is filed. Number: {number}"
    _edit(locale_copy, "zh_CN", msgid, msgstr, fuzzy=fuzzy)
    # Filtered, so that a string someone is still adding elsewhere does not fail this test too.
    problems = [p for p in check(locale_copy) if "Your repair request is filed" in p]
    assert len(problems) == 1, problems
    assert expected in problems[0]
    assert re.match(r"handlers/[\w/]+\.py:\d+: ", problems[0])


def test_check_reports_missing_catalogs_and_msgids(locale_copy: Path) -> None:
    """A msgid the code uses but the catalog lacks, and a missing en.po, are both problems."""
    path = po_path(locale_copy, "zh_CN")
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    catalog.delete("Cancel")
    with path.open("wb") as fh:
        write_po(fh, catalog)
    po_path(locale_copy, "en").unlink()
    problems = check(locale_copy)
    assert any("'Cancel' is missing from zh_CN" in p for p in problems), problems
    assert any("en/LC_MESSAGES/baoxiu.po is missing" in p for p in problems), problems


def test_update_restores_a_msgid_that_comes_back(locale_copy: Path) -> None:
    """A string removed and re-added keeps its old translation instead of starting empty."""
    path = po_path(locale_copy, "zh_CN")
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    message = catalog.get("Cancel")
    assert message is not None
    catalog.delete("Cancel")
    catalog.obsolete["Cancel"] = message
    with path.open("wb") as fh:
        write_po(fh, catalog)
    update(locale_copy)
    with path.open("rb") as fh:
        restored = read_po(fh, locale="zh_CN").get("Cancel")
    assert restored is not None and restored.string == "取消"
