"""Widget JSON ⇄ core models. Customer-visible rendering happens here and only here."""

from __future__ import annotations

from typing import Any

from bot.files import Attachment
from bot.store import Entry
from bot.types import Message, Participant, Role
from connectors.uploads import listed

CHANNEL = "web"


def to_message(conversation_id: str, text: str, message_id: str | None, customer_id: str,
               attachments: tuple[Attachment, ...] = ()) -> Message:
    fields: dict[str, Any] = {"id": message_id} if message_id else {}
    return Message(conversation_id=conversation_id, channel=CHANNEL, attachments=attachments,
                   sender=Participant(role=Role.CUSTOMER, id=customer_id), text=text, **fields)


def visible_to_customer(message: Message) -> bool:
    """Internal notes never leave the agents' side."""
    return not message.internal


def render(entry: Entry) -> dict[str, Any]:
    """Plain JSON: the widget inserts `text` as text, never as HTML."""
    m = entry.message
    return {
        "seq": entry.seq,
        "id": m.id,
        "role": m.sender.role.value,
        "name": m.sender.name,
        "avatar_url": m.sender.avatar_url if m.sender.role is Role.AGENT else "",
        "text": m.text,
        "citations": [{"title": c.title, "source": c.source, "section": c.section, "url": c.link()}
                      for c in m.citations],
        "created_at": m.created_at,
        "event": m.raw.get("event"),  # escalated, joined, draft_sent, resolved, handed_back: who speaks now
        "attachments": [listed(a) for a in m.attachments],
    }
