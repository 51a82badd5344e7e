"""The Bot API methods of the fake Telegram server, as state plus handlers (no HTTP here).

Each handler takes the request's parameters and returns the `result` Telegram would send, or raises
ApiError with Telegram's error text. FakeTelegramServer (telegram_server.py) adds HTTP and the test API.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath
from typing import Any

from tests.fakes.telegram_objects import (
    CHAT_ACTIONS,
    JSON,
    MAX_CAPTION,
    MAX_DOWNLOAD,
    MAX_TEXT,
    MAX_UPLOAD,
    NOT_MODIFIED,
    ApiError,
    SentMessage,
    StoredFile,
    Upload,
    bad_request,
    chat_full_info,
    parse_text,
    photo_sizes,
    validate_commands,
    validate_reply_markup,
)

Handler = Callable[[JSON], Awaitable[Any]]
_FILE_PREFIX = {"photo": "AgAC", "document": "BQAC", "voice": "AwAC", "sticker": "CAAC"}
_CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
_CONFLICT_HOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete it first"
)


def param_int(p: JSON, key: str, default: int | None = None, missing: str | None = None) -> int:
    """Read an integer parameter (form fields arrive as strings)."""
    value = p.get(key)
    if value is None or value == "":
        if default is None:
            raise bad_request(missing or f"{key} is empty")
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {key} specified") from None


def param_bool(p: JSON, key: str) -> bool:
    """Read a boolean parameter ("true" in forms, true in JSON)."""
    value = p.get(key)
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def chat_type_of(chat_id: int) -> str:
    """Telegram's id ranges: users are positive, supergroups -100..., basic groups other negatives."""
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


class FakeBotApi:
    """Bot API state and method handlers; see FakeTelegramServer for the HTTP side and test API."""

    def __init__(
        self,
        *,
        strict_chats: bool = False,
        bot_id: int = 7000000001,
        bot_username: str = "baoxiu_test_bot",
        bot_name: str = "Baoxiu",
    ) -> None:
        """Set up empty state; `strict_chats` answers "chat not found" for chats never seen in an update."""
        self.strict_chats = strict_chats
        self.bot_user: JSON = {"id": bot_id, "is_bot": True, "first_name": bot_name, "username": bot_username}
        # Recording, read by tests.
        self.messages: dict[int, SentMessage] = {}
        self.callback_answers: list[JSON] = []
        self.commands: dict[str, list[JSON]] = {}
        self.reply_keyboards: dict[int, JSON | None] = {}  # reply keyboard each chat currently shows
        self.blocked: set[int] = set()  # chats whose user blocked the bot: sends answer 403
        self.webhook_url = ""
        # Internal state; every lookup on the request path is a dict/deque operation.
        self._updates: deque[JSON] = deque()
        self._next_update_id = 1000
        self._ids = itertools.count(100)  # message ids, unique across chats so `messages` can be flat
        self._counter = itertools.count(1)  # files, callback queries, media groups
        self._by_chat: dict[int, list[SentMessage]] = {}
        self._user_messages: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._pending_callbacks: set[str] = set()
        self._update_event = asyncio.Event()
        self._poll_generation = 0
        self._closing = False
        methods: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendMediaGroup": self._send_media_group,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
        }
        # Bot API method names are case-insensitive.
        self._methods = {name.lower(): (name, handler) for name, handler in methods.items()}

    # ----- updates ---------------------------------------------------------------------------------

    def _wake_pollers(self) -> None:
        # A fresh Event per wake-up lets every waiter see the set one without any clearing race.
        self._update_event.set()
        self._update_event = asyncio.Event()

    async def _get_updates(self, p: JSON) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(409, _CONFLICT_HOOK)
        offset = param_int(p, "offset", 0)
        limit = min(max(param_int(p, "limit", 100), 1), 100)
        timeout = max(0.0, float(p.get("timeout") or 0))
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()  # an older long poll is terminated with 409, as Telegram does
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, _CONFLICT_POLL)
            if offset > 0:  # confirming: updates below offset are forgotten for good
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
            elif offset < 0:  # -N: keep only the last N
                while len(self._updates) > -offset:
                    self._updates.popleft()
            if self._updates:
                return list(itertools.islice(self._updates, limit))
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or self._closing:
                return []
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._update_event.wait(), remaining)

    async def _set_webhook(self, p: JSON) -> bool:
        url = str(p.get("url") or "")
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        return await self._delete_webhook(p, url)

    async def _delete_webhook(self, p: JSON, url: str = "") -> bool:
        self.webhook_url = url
        if param_bool(p, "drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, p: JSON) -> JSON:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    # ----- bot info --------------------------------------------------------------------------------

    async def _get_me(self, p: JSON) -> JSON:
        flags = ("can_read_all_group_messages", "supports_inline_queries", "can_connect_to_business")
        return {
            **self.bot_user,
            "can_join_groups": True,
            **dict.fromkeys(flags, False),
            "has_main_web_app": False,
        }

    async def _set_my_commands(self, p: JSON) -> bool:
        self.commands[str(p.get("language_code") or "")] = validate_commands(p.get("commands"))
        return True

    async def _get_my_commands(self, p: JSON) -> list[JSON]:
        return self.commands.get(str(p.get("language_code") or ""), [])

    async def _delete_my_commands(self, p: JSON) -> bool:
        self.commands.pop(str(p.get("language_code") or ""), None)
        return True

    async def _get_chat(self, p: JSON) -> JSON:
        chat = self._chats.get(param_int(p, "chat_id"))
        if chat is None:
            raise bad_request("chat not found")
        return chat_full_info(chat)

    # ----- sending ---------------------------------------------------------------------------------

    def _target_chat(self, p: JSON) -> JSON:
        """Resolve chat_id to a Chat; unknown chats are invented unless strict_chats."""
        raw = p.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None  # @usernames are not simulated
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        chat = self._chats.get(chat_id)
        if chat is None:
            if self.strict_chats:
                raise bad_request("chat not found")
            chat = self._chat(chat_id, chat_type_of(chat_id))
        return chat

    def _formatted(
        self, p: JSON, key: str, entities_key: str, limit: int, too_long: str
    ) -> tuple[str | None, list[JSON]]:
        """Parse text/caption with parse_mode like Telegram, enforcing its length limit."""
        if p.get(key) is None:
            return None, []
        text, entities = parse_text(str(p[key]), p.get("parse_mode"))
        if not entities and isinstance(p.get(entities_key), list):
            entities = p[entities_key]
        if len(text) > limit:
            raise bad_request(too_long)
        return text, entities

    def _markup(self, p: JSON, *, inline_only: bool = False) -> JSON | None:
        """Validate reply_markup; an empty inline keyboard means none, as Telegram treats it."""
        markup = p.get("reply_markup")
        if markup is None:
            return None
        validate_reply_markup(markup)
        if inline_only and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        return None if markup.get("inline_keyboard") == [] else markup

    def _input_file(self, value: Any, kind: str, p: JSON) -> tuple[StoredFile, bytes | str]:
        """Resolve an upload, attach://name or file_id to a stored file (and what the bot sent)."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.get(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            if len(value.data) > MAX_UPLOAD.get(kind, MAX_UPLOAD["document"]):
                raise ApiError(413, "Request Entity Too Large")
            suffix = PurePosixPath(value.filename or "").suffix or (".jpg" if kind == "photo" else ".bin")
            stored = self._store(
                value.data, kind, suffix, file_name=value.filename, mime_type=value.content_type
            )
            return stored, value.data
        if isinstance(value, str) and value:
            stored_or_none = self._files.get(value)
            if stored_or_none is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            if stored_or_none.kind != kind:
                raise bad_request(f"can't use file of type {stored_or_none.kind.title()} as {kind.title()}")
            return stored_or_none, value
        raise bad_request(f"there is no {kind} in the request")

    def _record(
        self, method: str, chat: JSON, p: JSON, content: JSON, markup: JSON | None, **files: Any
    ) -> JSON:
        """Create the bot's Message, remember it, and return it as Telegram would."""
        message_id = next(self._ids)
        raw: JSON = {"message_id": message_id, "from": self.bot_user, "chat": chat, "date": int(time.time())}
        raw.update(content)
        reply = p.get("reply_parameters") or {}
        reply_id = reply.get("message_id") if isinstance(reply, dict) else None
        reply_id = reply_id or p.get("reply_to_message_id")
        if reply_id:
            reply_id = param_int({"reply_to_message_id": reply_id}, "reply_to_message_id")
            target = self._user_messages.get(reply_id)
            bot_target = self.messages.get(reply_id)
            target = target or (bot_target.raw if bot_target and not bot_target.deleted else None)
            if target is not None and target["chat"]["id"] == chat["id"]:
                raw["reply_to_message"] = {k: v for k, v in target.items() if k != "reply_to_message"}
            elif not (isinstance(reply, dict) and reply.get("allow_sending_without_reply")):
                raise bad_request("message to be replied not found")
        if markup is not None and "inline_keyboard" in markup:
            raw["reply_markup"] = markup  # Telegram echoes only inline keyboards in the Message
        elif markup is not None:
            self.reply_keyboards[chat["id"]] = None if markup.get("remove_keyboard") else markup
        record = SentMessage(
            message_id,
            chat["id"],
            content.get("text"),
            content.get("caption"),
            markup,
            method=method,
            raw=raw,
            **files,
        )
        self.messages[message_id] = record
        self._by_chat.setdefault(chat["id"], []).append(record)
        return raw

    def _caption(self, source: JSON, content: JSON) -> None:
        caption, entities = self._formatted(
            source, "caption", "caption_entities", MAX_CAPTION, "message caption is too long"
        )
        if caption is not None:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities

    async def _send_message(self, p: JSON) -> JSON:
        chat = self._target_chat(p)
        text, entities = self._formatted(p, "text", "entities", MAX_TEXT, "message is too long")
        if not text or not text.strip():
            raise bad_request("message text is empty")
        content: JSON = {"text": text, "entities": entities} if entities else {"text": text}
        return self._record("sendMessage", chat, p, content, self._markup(p))

    async def _send_photo(self, p: JSON) -> JSON:
        chat = self._target_chat(p)
        stored, sent = self._input_file(p.get("photo"), "photo", p)
        content: JSON = {"photo": stored.sizes}
        self._caption(p, content)
        return self._record("sendPhoto", chat, p, content, self._markup(p), photo=sent)

    async def _send_document(self, p: JSON) -> JSON:
        chat = self._target_chat(p)
        stored, sent = self._input_file(p.get("document"), "document", p)
        content: JSON = {"document": stored.document()}
        self._caption(p, content)
        return self._record("sendDocument", chat, p, content, self._markup(p), document=sent)

    async def _send_media_group(self, p: JSON) -> list[JSON]:
        chat = self._target_chat(p)
        media = p.get("media")
        if not isinstance(media, list) or not media:
            raise bad_request("media must be a non-empty array of InputMedia")
        if len(media) > 10:
            raise bad_request("too many messages to send as an album")
        group_id = str(next(self._counter))
        resolved = []  # resolve every item first so a bad one sends nothing, like Telegram
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "document"):
                raise bad_request(f"unsupported media type {kind!r} in the album")
            stored, sent = self._input_file(item.get("media"), kind, p)
            content: JSON = {
                "media_group_id": group_id,
                kind: stored.sizes if kind == "photo" else stored.document(),
            }
            self._caption(item, content)
            resolved.append((kind, content, sent))
        return [
            self._record("sendMediaGroup", chat, p, content, None, **{kind: sent})
            for kind, content, sent in resolved
        ]

    async def _send_chat_action(self, p: JSON) -> bool:
        self._target_chat(p)
        if p.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # ----- editing ---------------------------------------------------------------------------------

    def _editable(self, p: JSON) -> SentMessage:
        """Find the bot's live message by chat_id + message_id, or raise Telegram's 400."""
        chat_id = param_int(p, "chat_id")
        message_id = param_int(p, "message_id", missing="message identifier is not specified")
        record = self.messages.get(message_id)
        if record is None or record.chat_id != chat_id or record.deleted:
            user_message = self._user_messages.get(message_id)
            if user_message is not None and user_message["chat"]["id"] == chat_id:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return record

    def _apply_edit(self, record: SentMessage, changes: JSON, markup: JSON | None) -> JSON:
        """Refuse no-op edits like Telegram, else apply them; returns the edited Message."""
        raw = record.raw
        # An absent field and an empty/None value are the same content.
        same = all(raw.get(k) == v if v not in (None, []) else k not in raw for k, v in changes.items())
        if same and raw.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED)
        for key, value in {**changes, "reply_markup": markup}.items():
            if value is None or value == []:
                raw.pop(key, None)
            else:
                raw[key] = value
        record.text, record.caption, record.reply_markup = raw.get("text"), raw.get("caption"), markup
        record.edits += 1
        raw["edit_date"] = int(time.time())
        return raw

    async def _edit_message_text(self, p: JSON) -> JSON:
        record = self._editable(p)
        if record.text is None:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._formatted(p, "text", "entities", MAX_TEXT, "message is too long")
        if not text or not text.strip():
            raise bad_request("message text is empty")
        # Like Telegram, an edit without reply_markup drops the inline keyboard.
        return self._apply_edit(
            record, {"text": text, "entities": entities}, self._markup(p, inline_only=True)
        )

    async def _edit_message_caption(self, p: JSON) -> JSON:
        record = self._editable(p)
        if record.photo is None and record.document is None:
            raise bad_request("there is no caption in the message to edit")
        content: JSON = {}
        self._caption(p, content)
        changes = {"caption": content.get("caption"), "caption_entities": content.get("caption_entities", [])}
        return self._apply_edit(record, changes, self._markup(p, inline_only=True))

    async def _edit_message_reply_markup(self, p: JSON) -> JSON:
        return self._apply_edit(self._editable(p), {}, self._markup(p, inline_only=True))

    async def _delete_message(self, p: JSON) -> bool:
        chat_id, message_id = param_int(p, "chat_id"), param_int(p, "message_id")
        record = self.messages.get(message_id)
        if record is not None and record.chat_id == chat_id and not record.deleted:
            record.deleted = True
            return True
        user_message = self._user_messages.get(message_id)
        if user_message is not None and user_message["chat"]["id"] == chat_id:
            del self._user_messages[message_id]
            return True
        raise bad_request("message to delete not found")

    async def _answer_callback_query(self, p: JSON) -> bool:
        query_id = str(p.get("callback_query_id") or "")
        if query_id not in self._pending_callbacks:  # unknown, or answered already
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        self._pending_callbacks.discard(query_id)
        answer = {
            "callback_query_id": query_id,
            "text": p.get("text"),
            "show_alert": param_bool(p, "show_alert"),
        }
        self.callback_answers.append(answer)
        return True

    async def _get_file(self, p: JSON) -> JSON:
        stored = self._files.get(str(p.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.file_size > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return {**stored.ids(), "file_path": stored.file_path}

    # ----- files, users, chats -------------------------------------------------------------------

    def _store(
        self, data: bytes, kind: str, suffix: str, file_size: int | None = None, **meta: Any
    ) -> StoredFile:
        """Keep bytes under a new file_id (and, for photos, a preview size too)."""
        n = next(self._counter)
        size = len(data) if file_size is None else file_size
        folder = {"photo": "photos", "document": "documents", "voice": "voice", "sticker": "stickers"}[kind]
        stored = StoredFile(
            f"{_FILE_PREFIX[kind]}AgUAAxkBAAI{n:06d}",
            f"AQAD{n:06d}",
            f"{folder}/file_{n}{suffix}",
            data,
            size,
            kind,
            **meta,
        )
        if kind == "photo":
            thumb = StoredFile(
                stored.file_id + "-s",
                stored.file_unique_id + "-s",
                f"{folder}/file_{n}_s{suffix}",
                data,
                size,
                kind,
            )
            self._files[thumb.file_id], self._files_by_path[thumb.file_path] = thumb, thumb
            stored.sizes = thumb.sizes = photo_sizes(
                stored.file_id, stored.file_unique_id, thumb.file_id, data, size
            )
        self._files[stored.file_id], self._files_by_path[stored.file_path] = stored, stored
        return stored

    def _chat(self, chat_id: int, chat_type: str, user: JSON | None = None) -> JSON:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                chat["first_name"] = (user or {}).get("first_name", "User")
            else:
                chat["title"] = f"Test group {chat_id}"
            self._chats[chat_id] = chat
        elif user is not None and chat_type == "private":
            chat["first_name"] = user["first_name"]
        return chat

    def _user(self, user_id: int, first_name: str | None = None, language_code: str | None = None) -> JSON:
        user = self._users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": "User", "language_code": "zh-hans"}
        )
        if first_name is not None:
            user["first_name"] = first_name
        if language_code is not None:
            user["language_code"] = language_code
        return user
