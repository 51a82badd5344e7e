"""Typed SQLAlchemy models, one module per part of the house; every model is importable from here."""

from storage.models.base import Base, UTCDateTime
from storage.models.incidents import Incident
from storage.models.messaging import (
    Conversation,
    InboundEvent,
    InboundRate,
    InboxEvent,
    OutboxLane,
    OutboxMessage,
    RateLimit,
)
from storage.models.people import Address, ChannelIdentity, GroupBinding, Invite, Person
from storage.models.privacy import ContactView
from storage.models.tickets import (
    ActionToken,
    FollowUp,
    Offer,
    Quote,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketPhoto,
    Timer,
)
from storage.models.wechat import WeChatChat, WeChatQuota, WeChatToken, WeComCard

__all__ = [
    "ActionToken",
    "Address",
    "Base",
    "ChannelIdentity",
    "ContactView",
    "Conversation",
    "FollowUp",
    "GroupBinding",
    "InboundEvent",
    "InboundRate",
    "InboxEvent",
    "Incident",
    "Invite",
    "Offer",
    "OutboxLane",
    "OutboxMessage",
    "Person",
    "Quote",
    "RateLimit",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "TicketPhoto",
    "Timer",
    "UTCDateTime",
    "WeChatChat",
    "WeChatQuota",
    "WeChatToken",
    "WeComCard",
]
