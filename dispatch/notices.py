"""What the domain wants people told; handlers turn notices into messages in each reader's language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Notice:
    """Tell a person (on the app they used last) or a given chat about something on a ticket.

    With a chat, `person_id` only picks the language; without one, the person's last-used app is used.
    """

    kind: str
    ticket_id: int | None
    person_id: int | None = None
    channel: str = ""
    chat_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def has_chat(self) -> bool:
        """True when addressed to a specific chat."""
        return bool(self.chat_id)


class Notices(list[Notice]):
    """Notices collected during one transaction."""

    def person(self, kind: str, ticket_id: int | None, person_id: int, **data: Any) -> None:
        """Queue a notice to a person."""
        self.append(Notice(kind, ticket_id, person_id=person_id, data=data))

    def chat(
        self,
        kind: str,
        ticket_id: int | None,
        channel: str,
        chat_id: str,
        reader: int | None = None,
        **data: Any,
    ) -> None:
        """Queue a notice to a specific chat (a group, or one offer copy); `reader` sets the language."""
        self.append(Notice(kind, ticket_id, person_id=reader, channel=channel, chat_id=chat_id, data=data))
