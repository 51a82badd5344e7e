"""What a dialog step gets: the event, who sent it, their conversation, and a way to answer."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.clock import Clock
from dispatch.notices import Notices
from dispatch.policy import Policy
from dispatch.schedules import Calendar
from dispatch.site import Community, Site
from handlers.buttons import ChoiceTap, decode, encode
from handlers.i18n import Translator
from handlers.messages import Choice, Inbound, Outbound, ReplyKeyboard
from storage.media import MediaStore
from storage.models import ChannelIdentity, Conversation, Person


@dataclass
class Services:
    """Long-lived collaborators, built once by the app."""

    site: Site
    clock: Clock
    media: MediaStore
    default_language: str = "zh_CN"
    max_photos: int = 9
    policy: Policy = field(default_factory=Policy)
    # Per channel: how to link a group member to a private chat with the bot (None when unknown).
    deep_links: dict[str, Callable[[str], str | None]] = field(default_factory=dict)
    # Scheduled jobs (digests ...) that the timer sweep fires; empty in most tests.
    calendar: Calendar = field(default_factory=Calendar)
    # The dashboard's address as people reach it (http://host:port or the proxy's https URL); "" = off.
    dashboard_url: str = ""
    # How long a dashboard login link works (once).
    dashboard_link: timedelta = timedelta(minutes=10)
    # /mydata includes what customer service wrote about the resident (the follow-up call's notes).
    mydata_staff_notes: bool = False
    # Channels that can't carry a file to a resident (WeChat's Official Account): /mydata sends a one-time
    # link there instead, on the bot's web server as people reach it (`web_url`; "" = no link can be made).
    link_channels: frozenset[str] = frozenset()
    web_url: str = ""
    mydata_link: timedelta = timedelta(minutes=10)


@dataclass
class Context:
    """One inbound event being handled inside one transaction."""

    services: Services
    session: AsyncSession
    inbound: Inbound
    person: Person
    identity: ChannelIdentity
    conv: Conversation
    t: Translator
    out: list[Outbound] = field(default_factory=list)
    # Notices to render into `out` when the event is done, each with the place in `out` it was told at.
    told: list[tuple[int, Notices]] = field(default_factory=list)

    @property
    def now(self) -> Any:
        """The injected clock's now."""
        return self.services.clock.now()

    @property
    def community(self) -> Community:
        """The community this person belongs to (the site's first by default)."""
        code = self.person.community
        return (self.services.site.community(code) if code else None) or self.services.site.default

    def tell(self, notices: Notices) -> None:
        """Have the domain's notices said, in each reader's language, at this point among the replies."""
        if notices:
            self.told.append((len(self.out), notices))

    def send(self, chat_id: str, text: str, **kwargs: Any) -> Outbound:
        """Queue a message to any chat on the inbound event's channel."""
        message = Outbound(channel=self.inbound.identity.channel, chat_id=chat_id, text=text, **kwargs)
        self.out.append(message)
        return message

    def reply(
        self,
        text: str,
        choices: Sequence[Sequence[Choice]] = (),
        keyboard: ReplyKeyboard | None = None,
        keyboard_label: str = "",
        photos: Sequence[str] = (),
    ) -> Outbound:
        """Queue a message back to the chat the event came from."""
        return self.send(
            self.inbound.chat_id,
            text,
            choices=[list(row) for row in choices],
            reply_keyboard=keyboard,
            keyboard_label=keyboard_label,
            photos=list(photos),
        )

    def answer_tap(self, text: str = "") -> None:
        """Answer a button tap (stops the client's spinner; shows text briefly when given)."""
        if self.inbound.callback_id:
            self.out.append(
                Outbound(
                    channel=self.inbound.identity.channel,
                    chat_id=self.inbound.chat_id,
                    text=text,
                    callback_id=self.inbound.callback_id,
                )
            )
            # A button is answered once; later calls must not answer it again.
            self.inbound = replace(self.inbound, callback_id="")

    def ask(
        self,
        text: str,
        options: Sequence[tuple[str, str]],
        *,
        columns: int = 2,
        keyboard: ReplyKeyboard | None = None,
        keyboard_label: str = "",
        photos: Sequence[str] = (),
    ) -> Outbound:
        """Ask with buttons; each button's data is an opaque id valid only for this question."""
        nonce = secrets.token_urlsafe(4)[:6]
        self.conv.nonce = nonce
        values: dict[str, str] = {}
        rows: list[list[Choice]] = []
        for i, (value, label) in enumerate(options):
            values[str(i)] = value
            choice = Choice(encode(ChoiceTap(nonce, str(i))), label)
            if not rows or len(rows[-1]) >= columns:
                rows.append([])
            rows[-1].append(choice)
        self.conv.data = {**self.conv.data, "choices": values, "labels": {v: lbl for v, lbl in options}}
        return self.reply(text, rows, keyboard=keyboard, keyboard_label=keyboard_label, photos=photos)

    def clear_choices(self) -> None:
        """Make the buttons of the last question stale."""
        self.conv.nonce = ""
        self.conv.data = {k: v for k, v in self.conv.data.items() if k not in ("choices", "labels")}


def resolve_choice(conv: Conversation, inbound: Inbound) -> tuple[str | None, str]:
    """Map a button tap or a typed label to the current question's value.

    Returns (value, problem) where problem is "", "stale" (an earlier question's button) or "forged".
    """
    choices: dict[str, str] = conv.data.get("choices") or {}
    if inbound.button:
        tap = decode(inbound.button)
        if not isinstance(tap, ChoiceTap):
            return None, "forged"
        if not conv.nonce or tap.nonce != conv.nonce:
            return None, "stale"
        if tap.index not in choices:
            return None, "forged"
        return choices[tap.index], ""
    text = inbound.text.strip().casefold()
    if text:
        labels: dict[str, str] = conv.data.get("labels") or {}
        for value, label in labels.items():
            if label.casefold() == text:
                return value, ""
    return None, ""


def end_dialog(ctx: Context) -> None:
    """Leave whatever dialog the chat was in; its buttons go stale."""
    ctx.conv.dialog = ""
    ctx.conv.step = ""
    ctx.conv.nonce = ""
    ctx.conv.data = {}
    ctx.conv.updated_at = ctx.now
