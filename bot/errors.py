"""Domain errors carry their data; only the edges turn them into HTTP status codes."""

from __future__ import annotations


class BotError(Exception):
    """Base of every error the core raises on purpose."""


class ConversationNotFound(BotError):
    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {conversation_id!r} not found")
        self.conversation_id = conversation_id


class HandoffNotFound(BotError):
    def __init__(self, handoff_id: str) -> None:
        super().__init__(f"handoff {handoff_id!r} not found")
        self.handoff_id = handoff_id


class InvalidTransition(BotError):
    """A handoff step that the state machine does not allow from the current owner."""

    def __init__(self, current: str, action: str) -> None:
        super().__init__(f"cannot {action} while the conversation is {current}")
        self.current = current
        self.action = action


class AlreadyClaimed(BotError):
    def __init__(self, handoff_id: str, agent: str) -> None:
        super().__init__(f"handoff {handoff_id!r} is already claimed by {agent!r}")
        self.handoff_id = handoff_id
        self.agent = agent


class InvalidMessage(BotError):
    """Inbound text the bot refuses to process (empty, too long, not text)."""


class AlreadyRated(BotError):
    """The customer already rated this conversation (since its last handoff)."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {conversation_id!r} is already rated")
        self.conversation_id = conversation_id


class SubscriptionEnded(BotError):
    """A live subscription can deliver nothing more (the store's connection was lost, or the listener fell
    too far behind): its client reconnects and reads what it missed from the history."""

    def __init__(self, channel: str, reason: str) -> None:
        super().__init__(f"live subscription to {channel} ended: {reason}")
        self.channel = channel
        self.reason = reason
