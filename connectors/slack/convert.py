"""Slack events ⇄ core models. Everything Slack-shaped about text and blocks happens here and only here."""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass
from typing import Any

from bot.types import Citation, Message, Participant, Role

CHANNEL = "slack"
SLOT = "slack"
SECTION_LIMIT = 3000  # Slack rejects longer section texts

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL_REF = re.compile(r"<#[CG][A-Z0-9]+\|([^>]*)>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^>|]+)(?:\|([^>]+))?>")


@dataclass(frozen=True)
class SlackThread:
    """Where an employee's conversation lives; its id derives from it, so state follows the Slack thread."""

    team: str
    channel: str
    thread_ts: str

    @property
    def conversation_id(self) -> str:
        return f"slack-{self.team}-{self.channel}-{self.thread_ts}"

    def as_slot(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_slots(cls, slots: dict[str, Any]) -> "SlackThread | None":
        slot = slots.get(SLOT)
        return cls(**slot) if isinstance(slot, dict) else None


def thread_of(event: dict[str, Any], team_id: str = "") -> SlackThread:
    """A top-level message starts a thread under itself; a thread reply continues its thread."""
    return SlackThread(
        team=event.get("team") or team_id,
        channel=event["channel"],
        thread_ts=event.get("thread_ts") or event["ts"],
    )


def message_id(event: dict[str, Any], event_id: str = "") -> str:
    """Stable across Slack's retries and across the app_mention + message pair of one typed message."""
    if event.get("client_msg_id"):
        return f"slack-{event['client_msg_id']}"
    if event.get("ts"):
        return f"slack-ts-{event['ts']}"
    return f"slack-ev-{event_id}"


def employee(user_id: str, name: str = "") -> Participant:
    return Participant(role=Role.CUSTOMER, id=user_id, name=name)


def agent(user_id: str, name: str = "") -> Participant:
    return Participant(role=Role.AGENT, id=user_id, name=name or user_id)


def plain_text(text: str, *, drop_user: str | None = None) -> str:
    """Slack's markup (mentions, links, &amp;) to the plain text the core stores, minus the bot's mention."""
    if drop_user:
        text = re.sub(rf"<@{re.escape(drop_user)}(?:\|[^>]*)?>", "", text)
    text = _USER.sub(lambda m: "@" + m.group(1), text)
    text = _CHANNEL_REF.sub(lambda m: "#" + m.group(1), text)
    text = _SPECIAL.sub(lambda m: "@" + m.group(1), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1), text)
    return html.unescape(text).strip()


def to_message(
    event: dict[str, Any], *, team_id: str = "", event_id: str = "", bot_user_id: str | None = None
) -> Message:
    """An employee's message event as a core Message of the conversation keyed by its thread."""
    thread = thread_of(event, team_id)
    return Message(
        id=message_id(event, event_id),
        conversation_id=thread.conversation_id,
        channel=CHANNEL,
        sender=employee(event.get("user", "")),
        text=plain_text(event.get("text", ""), drop_user=bot_user_id),
        raw={"slack": {"channel": thread.channel, "ts": event.get("ts"), "user": event.get("user")}},
    )


def escape(text: str) -> str:
    """The three characters Slack's mrkdwn reserves; everything else is sent as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def source_link(citation: Citation) -> str:
    title = escape(citation.title).replace("|", "¦")
    if citation.source.startswith(("http://", "https://")):
        return f"<{citation.source}|{title}>"
    return title


def _sections(text: str) -> list[dict[str, Any]]:
    escaped = escape(text) or " "
    chunks = [escaped[i : i + SECTION_LIMIT] for i in range(0, len(escaped), SECTION_LIMIT)]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": chunk}} for chunk in chunks]


def render(message: Message) -> list[dict[str, Any]]:
    """Block Kit for one outgoing message: the text, then who wrote it (agents) and the sources it cites."""
    blocks = _sections(message.text)
    if message.sender.role is Role.AGENT:
        signed = f"{escape(message.sender.name)}, IT support" if message.sender.name else "IT support"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": signed}]})
    if message.citations:
        links = " · ".join(source_link(c) for c in message.citations)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Sources: {links}"}]})
    return blocks
