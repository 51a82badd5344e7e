"""Bot API object builders, validators and records used by the fake Telegram server.

Everything here is pure (no I/O) so the server module stays about routing and state.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from starlette.responses import JSONResponse

JSON = dict[str, Any]

# Telegram's own limits, enforced so the fake fails where production would.
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses bigger files for bots
# What a bot may upload (multipart): photos up to 10 MB, any other file up to 50 MB.
MAX_UPLOAD = {"photo": 10 * 1024 * 1024, "document": 50 * 1024 * 1024}
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
NOT_MODIFIED = (  # bad_request() adds the "Bad Request: " prefix
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_INLINE_ACTIONS = frozenset(
    {
        "callback_data",
        "url",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


class ApiError(Exception):
    """A Bot API error answer: HTTP status == error_code, as Telegram does."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        """Return the JSON body Telegram sends for this error."""
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body

    def response(self) -> JSONResponse:
        """Return the HTTP response carrying this error."""
        return JSONResponse(self.body(), status_code=self.error_code)


def bad_request(detail: str) -> ApiError:
    """Build a 400 error with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {detail}")


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class StoredFile:
    """A file the fake knows by file_id (pushed by a test or uploaded by the bot)."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_size: int
    kind: str  # "photo", "document", "voice", "sticker": Telegram refuses cross-type reuse
    sizes: list[JSON] = field(default_factory=list)  # PhotoSize list for photos, largest last
    file_name: str | None = None
    mime_type: str | None = None

    def ids(self) -> JSON:
        """Return the id/size fields every Bot API file object starts with."""
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id, "file_size": self.file_size}

    def document(self) -> JSON:
        """Return this file as a Document object."""
        extra = {"file_name": self.file_name, "mime_type": self.mime_type}
        return {**self.ids(), **{k: v for k, v in extra.items() if v is not None}}


@dataclass
class SentMessage:
    """What the bot sent, as recorded by the fake server."""

    message_id: int
    chat_id: int
    text: str | None = None
    caption: str | None = None
    reply_markup: JSON | None = None
    photo: bytes | str | None = None  # uploaded bytes, or the file_id the bot reused
    document: bytes | str | None = None
    edits: int = 0
    deleted: bool = False
    method: str = "sendMessage"
    raw: JSON = field(default_factory=dict, repr=False)  # the Message object as Telegram returns it

    @property
    def content(self) -> str:
        """Return the text or caption (empty string if neither)."""
        return self.text or self.caption or ""

    @property
    def button_texts(self) -> list[str]:
        """Return the labels of all inline or reply keyboard buttons, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or (self.reply_markup or {}).get("keyboard")
        return [b if isinstance(b, str) else b["text"] for row in rows or [] for b in row]

    def callback_data_for(self, label: str) -> str:
        """Return the callback_data of the inline button whose label contains `label`."""
        for row in (self.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                if label in button["text"] and "callback_data" in button:
                    return str(button["callback_data"])
        raise AssertionError(f"no inline button matching {label!r} in {self.button_texts}")


def utf16_len(text: str) -> int:
    """Return the length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[JSON]:
    """Return the bot_command entity Telegram attaches to a leading /command."""
    if not text.startswith("/"):
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(text.split()[0])}]


def image_size(data: bytes) -> tuple[int, int]:
    """Return (width, height) of image bytes, or a plausible default if they are not an image."""
    try:
        from PIL import Image  # only the header is read, so this is cheap

        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return 1280, 960


def photo_sizes(file_id: str, unique_id: str, thumb_id: str, data: bytes, file_size: int) -> list[JSON]:
    """Return a PhotoSize list like Telegram's: a small preview then the full size, largest last."""
    width, height = image_size(data)
    scale = min(1.0, 320 / max(width, height, 1))
    thumb = {
        "file_id": thumb_id,
        "file_unique_id": unique_id + "-s",
        "width": max(1, int(width * scale)),
        "height": max(1, int(height * scale)),
        "file_size": max(1, int(file_size * scale * scale)),
    }
    full = {"file_id": file_id, "file_unique_id": unique_id, "width": width, "height": height}
    return [thumb, {**full, "file_size": file_size}]


def chat_full_info(chat: JSON) -> JSON:
    """Return a ChatFullInfo for a Chat (the fields PTB requires plus the chat's own)."""
    gifts = dict.fromkeys(
        ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels"),
        False,
    )
    return {**chat, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}


def validate_reply_markup(markup: Any) -> None:
    """Raise the 400 Telegram answers for a reply_markup it would refuse."""
    unparsable = bad_request("can't parse reply keyboard markup JSON object")
    if not isinstance(markup, dict):
        raise unparsable
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise unparsable
        for button in (b for row in rows for b in row):
            if not isinstance(button, dict) or not button.get("text"):
                raise unparsable
            if not _INLINE_ACTIONS & button.keys():
                raise bad_request("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise bad_request("BUTTON_DATA_INVALID")
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise unparsable
        if any(not (isinstance(b, str) or (isinstance(b, dict) and b.get("text"))) for r in rows for b in r):
            raise unparsable
    elif not (markup.get("remove_keyboard") is True or markup.get("force_reply") is True):
        raise unparsable


def validate_commands(commands: Any) -> list[JSON]:
    """Validate setMyCommands' list and return it."""
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse BotCommand array")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND_RE.match(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return commands


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[JSON]]:
    """Return (plain text, entities) as Telegram stores a formatted text, or raise its 400."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return _HtmlText(text).result()
    if mode in ("markdownv2", "markdown"):
        return _parse_markdown(text, v2=mode == "markdownv2")
    if mode:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    return text, []


def _entity_error(text: str, index: int, what: str) -> ApiError:
    """Build "can't parse entities" with Telegram's UTF-8 byte offset."""
    return bad_request(f"can't parse entities: {what} at byte offset {len(text[:index].encode())}")


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class _HtmlText(HTMLParser):
    """Telegram's HTML subset: only known tags, properly nested; text unescaped."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.plain: list[str] = []
        self.pos16 = 0
        self.stack: list[tuple[str, int, dict[str, str | None]]] = []
        self.entities: list[JSON] = []

    def _index(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise _entity_error(self.text, self._index(), f'Unsupported start tag "{tag}"')
        self.stack.append((tag, self.pos16, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            raise _entity_error(self.text, self._index(), "Unexpected end tag")
        _, start, attrs = self.stack.pop()
        if self.pos16 > start:
            entity: JSON = {"type": _HTML_TAGS[tag], "offset": start, "length": self.pos16 - start}
            if tag == "a":
                entity["url"] = attrs.get("href") or ""
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.plain.append(data)
        self.pos16 += utf16_len(data)

    def result(self) -> tuple[str, list[JSON]]:
        """Parse the whole text and return (plain, entities)."""
        self.feed(self.text)
        self.close()
        if self.stack:
            detail = f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"'
            raise bad_request(f"can't parse entities: {detail}")
        return "".join(self.plain), sorted(self.entities, key=lambda e: e["offset"])


_MD_NAMES = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler"}
_MD_TYPES = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}
_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")


def _parse_markdown(text: str, *, v2: bool) -> tuple[str, list[JSON]]:
    """Parse Markdown / MarkdownV2 like Telegram: unescaped reserved characters are errors in V2."""
    out: list[str] = []
    pos16 = 0
    entities: list[JSON] = []
    open_marks: dict[str, tuple[int, int]] = {}  # marker -> (char index, utf16 offset)
    link: tuple[int, int] | None = None
    i, n = 0, len(text)
    markers = ("__", "||", "*", "_", "~") if v2 else ("*", "_")

    def emit(chunk: str) -> None:
        nonlocal pos16
        out.append(chunk)
        pos16 += utf16_len(chunk)

    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and (v2 or text[i + 1] in "_*`["):
            emit(text[i + 1])
            i += 2
            continue
        if char == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = text.find(fence, i + len(fence))
            if end < 0:
                name = "Pre" if fence == "```" else "Code"
                what = f"Can't find end of {name} entity" if v2 else "Can't find end of the entity starting"
                raise _entity_error(text, i, what)
            body = text[i + len(fence) : end]
            if fence == "```" and "\n" in body:
                body = body.split("\n", 1)[1]  # the first line names the language
            start = pos16
            emit(body.replace("\\`", "`").replace("\\\\", "\\") if v2 else body)
            entities.append(
                {"type": "pre" if fence == "```" else "code", "offset": start, "length": pos16 - start}
            )
            i = end + len(fence)
            continue
        marker = next((m for m in markers if text.startswith(m, i)), None)
        if marker is not None:
            if marker in open_marks:
                _, start = open_marks.pop(marker)
                if pos16 > start:
                    entities.append({"type": _MD_TYPES[marker], "offset": start, "length": pos16 - start})
            else:
                open_marks[marker] = (i, pos16)
            i += len(marker)
            continue
        if char == "[" and link is None:
            link = (i, pos16)
            i += 1
            continue
        if char == "]" and link is not None and text.startswith("(", i + 1):
            close = text.find(")", i + 2)
            if close < 0:
                raise _entity_error(text, i, "Can't find end of a url")
            _, start = link
            entities.append(
                {"type": "text_link", "offset": start, "length": pos16 - start, "url": text[i + 2 : close]}
            )
            link = None
            i = close + 1
            continue
        if v2 and char in _MDV2_RESERVED and not (char == ">" and (i == 0 or text[i - 1] == "\n")):
            raise bad_request(
                f"can't parse entities: Character '{char}' is reserved and must be escaped with the "
                "preceding '\\'"
            )
        emit(char)
        i += 1
    unclosed = [(index, _MD_NAMES[marker]) for marker, (index, _) in open_marks.items()]
    if link is not None:
        unclosed.append((link[0], "TextUrl"))
    if unclosed:
        index, name = min(unclosed)
        what = f"Can't find end of {name} entity" if v2 else "Can't find end of the entity starting"
        raise _entity_error(text, index, what)
    return "".join(out), sorted(entities, key=lambda e: e["offset"])


class TokenBucket:
    """Token bucket: `capacity` burst, refilled at `rate` tokens per second."""

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.stamp = now

    def wait_time(self, now: float, cost: float = 1.0) -> float:
        """Return seconds until `cost` tokens are available (0 if now), refilling first."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= cost else (cost - self.tokens) / self.rate

    def take(self, cost: float = 1.0) -> None:
        """Consume `cost` tokens (call after wait_time said 0)."""
        self.tokens -= cost


class SlidingWindow:
    """At most `limit` events in any `window` seconds: an event at `now` is refused while `limit` others fall
    in (now - window, now]. Unlike a token bucket it allows no burst on top of the rate."""

    def __init__(self, limit: float, window: float) -> None:
        self.limit = limit
        self.window = window
        self.times: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        """Seconds until one more event fits (0 if now)."""
        while self.times and self.times[0] <= now - self.window:
            self.times.popleft()
        if len(self.times) < self.limit:
            return 0.0
        return self.times[0] + self.window - now

    def take(self, now: float) -> None:
        """Count an event at `now` (call after wait_time said 0)."""
        self.times.append(now)


def window_violations(times: list[float], limit: float, window: float) -> int:
    """How many of these event times a SlidingWindow would have refused (refused ones not counted)."""
    sliding = SlidingWindow(limit, window)
    refused = 0
    for at in sorted(times):
        if sliding.wait_time(at) > 0:
            refused += 1
        else:
            sliding.take(at)
    return refused


def retry_after_seconds(wait: float) -> int:
    """Telegram's retry_after is a whole number of seconds, at least 1."""
    return max(1, math.ceil(wait))


def decode_json_param(key: str, value: Any) -> Any:
    """Decode a JSON-serialized form field (PTB sends nested objects as JSON strings)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        if key == "reply_markup":
            raise bad_request("can't parse reply keyboard markup JSON object") from None
        raise bad_request(f"can't parse {key} JSON object") from None
