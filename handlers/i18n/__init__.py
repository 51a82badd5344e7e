"""Translations: gettext catalogs (Babel .po files) compiled in memory at first use."""

from __future__ import annotations

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "baoxiu"
LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet."""
    return message


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog for a language (English msgids need no catalog to fall back on)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def normalize_language(code: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Map a client's language code (zh-hans, en-US, ...) to one we have."""
    if not code:
        return default
    code = code.lower().replace("-", "_")
    if code.startswith("zh"):
        return "zh_CN"
    if code.startswith("en"):
        return "en"
    return default


class Translator:
    """gettext bound to one language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._t = translations(self.language)

    def __call__(self, message: str, **values: object) -> str:
        """Translate and fill in `{name}` placeholders."""
        # gettext("") is the catalog's header (Project-Id-Version: ...), never what a reader should see.
        if not message:
            return message
        text = self._t.gettext(message)
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, n: int, **values: object) -> str:
        """Translate with a count."""
        return self._t.ngettext(singular, plural, n).format(n=n, **values)
