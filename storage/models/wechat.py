"""WeChat's shared state: the access-token cache, per-chat choices, WeCom template cards, message quotas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class WeChatToken(Base):
    """An access token shared by every worker: one row per app, refreshed before it expires."""

    __tablename__ = "wechat_tokens"

    app: Mapped[str] = mapped_column(String(80), primary_key=True)
    token: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime]
    refreshed_at: Mapped[datetime]


class WeChatChat(Base):
    """A WeChat or WeCom chat: the choices of its latest messages (typed numbers and menu taps pick them)."""

    __tablename__ = "wechat_chats"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    # str(seq) -> the choice data of that message (the newest few); "latest" -> the newest seq;
    # "deferred" -> questions that went out as template messages, asked again when the person writes.
    choices: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class WeComCard(Base):
    """A WeCom template card as sent: WeCom's task id, the card id edits refer to, the code to update it."""

    __tablename__ = "wecom_cards"

    task_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    card_id: Mapped[str] = mapped_column(String(128), index=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)  # a card re-sent in place of an old one: +1
    chat_id: Mapped[str] = mapped_column(String(64))
    response_code: Mapped[str] = mapped_column(Text, default="")
    code_used: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class WeChatQuota(Base):
    """What a follower's last actions allow the Official Account to send them as customer-service messages.

    Since 2023-06-12 WeChat allows 5 within 48 hours of the user's last message (each message resets it) and
    3 within a minute of a menu click, a follow or a QR scan. One row per follower, shared by every worker.
    """

    __tablename__ = "wechat_quotas"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_at: Mapped[datetime | None]  # the user's last message
    message_used: Mapped[int] = mapped_column(Integer, default=0)
    event_at: Mapped[datetime | None]  # the user's last menu click, follow or scan
    event_used: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]
