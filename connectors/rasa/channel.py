"""The Rasa push channel: what agents say reaches the Rasa user, and a hand-back resumes the assistant.

Messages go through the Rasa server's HTTP API, appended to the user's tracker:

    POST {SUPPORTBOT_RASA_URL}/conversations/{sender_id}/tracker/events
         ?output_channel=latest&execute_side_effects=true[&token=...]
    [{"event": "resume"}?, {"event": "bot", "text": ..., "metadata": {...}}]

Appending a `bot` event with `execute_side_effects` both records the message in the tracker (so the
assistant's stories see it) and sends it to the user through the output channel; `trigger_intent` would
instead need an intent and a response for every agent message in the assistant's domain. A hand-back (or
resolve) first appends `resume` (ConversationResumed), so the paused assistant answers the next message.

Replies produced inside a Rasa turn are not pushed: the action returns them to Rasa itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from bot.types import ConversationState, Message

if TYPE_CHECKING:
    from service.settings import Settings

CHANNEL = "rasa"
RESUMING_EVENTS = frozenset({"handed_back", "resolved"})


class RasaRefused(RuntimeError):
    """The Rasa server did not accept the events (wrong token, unknown channel, server error)."""


class RasaChannel:
    name = CHANNEL
    replies_in_turn = True  # the action server returns a turn's replies to Rasa in its response

    def __init__(self, url: str, *, token: str | None = None, output_channel: str = "latest",
                 timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.output_channel = output_channel
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: "Settings") -> "RasaChannel":
        if not settings.rasa_url:
            raise ValueError("SUPPORTBOT_RASA_URL is required for the Rasa channel")
        return cls(settings.rasa_url, token=settings.rasa_token, output_channel=settings.rasa_output_channel)

    def events(self, message: Message) -> list[dict[str, Any]]:
        """The tracker events for one outgoing message: `resume` first when the assistant takes over again."""
        out: list[dict[str, Any]] = []
        if message.raw.get("event") in RESUMING_EVENTS:
            out.append({"event": "resume", "timestamp": message.created_at})
        citations = [{"title": c.title, "source": c.source} for c in message.citations]
        out.append({"event": "bot", "text": message.text, "timestamp": message.created_at,
                    "data": {"custom": {"citations": citations}} if citations else {},
                    "metadata": {"supportbot_message_id": message.id, "sender": message.sender.role.value,
                                 "sender_name": message.sender.name}})
        return out

    async def send(self, conversation: ConversationState, message: Message) -> None:
        if message.internal:
            return
        sender_id = conversation.customer.id
        params = {"output_channel": self.output_channel, "execute_side_effects": "true"}
        if self.token:
            params["token"] = self.token
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            try:
                response = await client.post(f"{self.url}/conversations/{quote(sender_id, safe='')}/tracker/events",
                                             params=params, json=self.events(message))
            except httpx.HTTPError as error:
                raise RasaRefused(f"Rasa server at {self.url} unreachable: {error}") from error
        if response.status_code >= 400:
            raise RasaRefused(f"Rasa server at {self.url} refused the events for {sender_id!r}: "
                              f"HTTP {response.status_code} {response.text[:200]}")
