"""Checks on what residents type: phone numbers, descriptions, free text."""

from __future__ import annotations

import re
import unicodedata

MAX_DESCRIPTION = 1000
MIN_DESCRIPTION = 2
MAX_SHORT_TEXT = 200

_SEPARATORS = re.compile(r"[\s\-()（）.]")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_CN_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")
_INTERNATIONAL = re.compile(r"^\+[1-9]\d{6,14}$")


def clean_text(text: str) -> str:
    """Trim whitespace and drop control characters; Chinese punctuation is kept as typed."""
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()


def fold_width(text: str) -> str:
    """Full-width digits and letters to ASCII, for numbers people type on Chinese keyboards."""
    return unicodedata.normalize("NFKC", text).strip()


def normalize_phone(raw: str) -> str | None:
    """A phone number in a canonical form, or None when it isn't one.

    Accepts mainland mobiles (13812345678, +86 138 1234 5678), landlines with area code
    (0755-12345678) and international numbers in + form.
    """
    text = _SEPARATORS.sub("", fold_width(raw))
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+86"):
        rest = text[3:].lstrip("0")
        if _CN_MOBILE.match(rest):
            return rest
        return "0" + rest if _CN_LANDLINE.match("0" + rest) else None
    if text.startswith("86") and len(text) == 13 and _CN_MOBILE.match(text[2:]):
        return text[2:]
    if _CN_MOBILE.match(text) or _CN_LANDLINE.match(text):
        return text
    if _INTERNATIONAL.match(text):
        return text
    return None


def mask_phone(phone: str | None) -> str:
    """138****5678: what logs and group chats may show."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    keep_head = 3 if len(digits) >= 7 else 1
    return digits[:keep_head] + "*" * (len(digits) - keep_head - 4) + digits[-4:]


def description_problem(text: str) -> str:
    """ "" when a description is usable, else "empty" (nothing, or no word at all), "short" or "long"."""
    cleaned = clean_text(text)
    # Emoji and punctuation alone say nothing a technician or an office can act on.
    if not any(ch.isalnum() for ch in cleaned):
        return "empty"
    if len(cleaned) < MIN_DESCRIPTION:
        return "short"
    if len(cleaned) > MAX_DESCRIPTION:
        return "long"
    return ""
