"""Push delivery for channels that do not pull (Slack, email); the web widget listens instead."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from bot.store import ConversationStore
from bot.types import ConversationState, Message

log = logging.getLogger(__name__)


class Channel(Protocol):
    name: str

    async def send(self, conversation: ConversationState, message: Message) -> None: ...


class Delivery:
    """The `deliver` job: look the conversation up and hand the message to its channel."""

    def __init__(self, store: ConversationStore, channels: dict[str, Channel] | None = None) -> None:
        self.store = store
        self.channels: dict[str, Channel] = dict(channels or {})

    def pushes(self, channel: str) -> bool:
        return channel in self.channels

    async def deliver(self, payload: dict[str, Any]) -> None:
        message = Message.model_validate(payload["message"])
        state = await self.store.load(message.conversation_id)
        if state is None or message.internal:
            return
        await self.channels[state.channel].send(state, message)
