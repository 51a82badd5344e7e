"""Texts cut to WeChat's sizes, which are counted in bytes of UTF-8, not in characters.

WeCom keeps 2048 bytes of a text message and drops the rest without an error; the Official Account refuses a
longer one. A Chinese character is 3 bytes, so 700 characters of description alone is 2,100 bytes: splitting
by characters (as before) lost the tail of the technician's job details, where the time and the pin were.
"""

from __future__ import annotations

TEXT_BYTES = 2000  # per text message: WeChat's 2048 less a margin for what the client adds
MENU_HEAD_BYTES = 1200  # a 菜单消息's head, leaving room for its lines and tail in the same message


def size(text: str) -> int:
    """The text's length in bytes of UTF-8."""
    return len(text.encode("utf-8"))


def cut_bytes(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8 (whole characters), with an ellipsis when shortened."""
    if size(text) <= limit:
        return text
    return text.encode("utf-8")[: max(0, limit - 3)].decode("utf-8", errors="ignore") + "…"


def _head(line: str, limit: int) -> tuple[str, str]:
    """The longest start of `line` within `limit` bytes (at least one character), and the rest."""
    head = line.encode("utf-8")[:limit].decode("utf-8", errors="ignore") or line[:1]
    return head, line[len(head) :]


def chunks(text: str, limit: int = TEXT_BYTES) -> list[str]:
    """The text split into messages of at most `limit` bytes, at line ends where a line fits; a line longer
    than a message fills the current one and goes on in the next."""
    out: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        candidate = line if current is None else f"{current}\n{line}"
        if size(candidate) <= limit:
            current = candidate
            continue
        if current is not None and size(line) > limit:
            head = line.encode("utf-8")[: limit - size(current) - 1].decode("utf-8", errors="ignore")
            if head:
                current, line = f"{current}\n{head}", line[len(head) :]
        if current is not None:
            out.append(current)
        while size(line) > limit:
            head, line = _head(line, limit)
            out.append(head)
        current = line
    out.append(current or "")
    return out
