"""Where conversation state lives. One protocol; the Redis implementation sits in `service/`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel

from bot.types import ConversationState, Handoff, Message, Phase


class Entry(BaseModel):
    """A message as stored in a conversation's history, with its position (1, 2, 3 ...)."""

    seq: int
    message: Message


class Receipt(StrEnum):
    """What a delivery of an inbound message found: answered is a duplicate, anything else gets a turn."""

    NEW = "new"
    UNANSWERED = "unanswered"  # stored by an earlier delivery whose turn never finished (its process died)
    ANSWERED = "answered"


class Received(NamedTuple):
    """A delivery's receipt, the history's last entries as it left them and the conversation's state: the
    turn's context, read in the same step as the message was stored."""

    receipt: Receipt
    recent: list[Entry]
    state: ConversationState


class Subscription(Protocol):
    """Live events, already subscribed; iterate, then close (always: an open subscription holds resources)."""

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]: ...

    async def get(self, timeout: float) -> dict[str, Any] | None:
        """The next event, or None after `timeout` seconds of quiet; raises SubscriptionEnded when the store
        can deliver nothing more, and the listener catches up from the history."""
        ...

    async def close(self) -> None:
        """Idempotent."""
        ...


class ConversationStore(Protocol):
    async def create(self, state: ConversationState) -> None: ...

    async def load(self, conversation_id: str) -> ConversationState | None: ...

    async def save(self, state: ConversationState) -> None: ...

    async def commit(self, state: ConversationState, reply: Message, answered: str | None = None) -> Entry:
        """`save(state)` and `append(reply)` in one atomic step: both happen or neither. With `answered`, the
        inbound message of that id is marked answered (`mark_answered`) in the same step."""
        ...

    async def append(self, message: Message) -> Entry:
        """Add to the history and publish it to live listeners of the conversation."""
        ...

    async def history(self, conversation_id: str, after: int = 0, limit: int | None = None) -> list[Entry]:
        """Entries after position `after`, at most `limit` of them (all when None)."""
        ...

    async def tail(self, conversation_id: str, count: int) -> list[Entry]:
        """The last `count` entries, oldest first: what a turn needs of a long conversation."""
        ...

    async def receive(self, message: Message, recent: int = 0) -> Received:
        """Add an inbound message to the history once, however often it is delivered (one atomic step:
        stored if and only if seen), tell subscribers of a new one, and say whether a turn already answered it.
        The conversation's state comes back in the same step, and with `recent` the history's last `recent`
        entries (oldest first). Raises ConversationNotFound, having stored nothing, when there is none."""
        ...

    async def mark_answered(self, conversation_id: str, message_id: str) -> None:
        """The turn of this message is complete: later deliveries of it are duplicates."""
        ...

    def lock(self, conversation_id: str) -> AbstractAsyncContextManager[None]:
        """Serialize turns of one conversation across every process; a lock whose holder died frees itself
        within seconds."""
        ...

    async def publish_event(self, conversation_id: str, event: dict[str, Any]) -> None:
        """A live, unsaved signal (typing, status) for the conversation's listeners."""
        ...

    async def subscribe(self, conversation_id: str) -> Subscription:
        """Live entries and events of one conversation."""
        ...


class HandoffQueue(Protocol):
    """The agents' side of a handoff: queue, claim, resolve, notify."""

    async def open(self, handoff: Handoff) -> bool:
        """Store and queue it in one step, once; False when a handoff with this id already exists."""
        ...

    async def get(self, handoff_id: str) -> Handoff | None: ...

    async def save(self, handoff: Handoff) -> None: ...

    async def claim(self, handoff_id: str, agent: str) -> Handoff:
        """Atomic: exactly one agent wins; the others get AlreadyClaimed."""
        ...

    async def reassign(self, handoff_id: str, agent: str) -> Handoff:
        """Give the handoff to `agent`, whoever held it."""
        ...

    async def resolve(self, handoff_id: str) -> None:
        """Resolved and off the open list in one step, whatever else changes the handoff meanwhile."""
        ...

    async def change(self, handoff_id: str, change: Callable[[Handoff], bool]) -> tuple[Handoff, bool]:
        """Read, change and write one handoff as one step, so a claim meanwhile is never overwritten; `change`
        edits it in place and returns False to leave it as it was. The result says whether it was written."""
        ...

    async def remind(self, handoff_id: str, n: int) -> Handoff | None:
        """Count reminder `n` of a handoff still queued, once: the one caller that moves the count to `n` gets
        the handoff; every other (a second copy of the reminder job, one after a claim) gets None."""
        ...

    async def unremind(self, handoff_id: str, n: int) -> None:
        """Take back reminder `n` when it could not be sent, so the retried job sends it."""
        ...

    async def open_handoffs(self, category: str | None = None) -> list[Handoff]: ...

    async def notify(self, event: dict[str, Any]) -> None:
        """Tell every listening agent (console, Slack desk) that something changed."""
        ...

    async def subscribe(self) -> Subscription: ...


class Journal(Protocol):
    """Append-only record of turns, reviews and shadow comparisons, for reports and analytics."""

    async def record(self, kind: str, data: dict[str, Any]) -> None: ...

    async def entries(self, kind: str) -> list[dict[str, Any]]: ...

    async def export(self) -> list[dict[str, Any]]:
        """Every record of every kind, each with its `kind`."""
        ...


class PhaseOverrides(Protocol):
    """Phases changed while running (the console's admin page), seen by every process on its next turn."""

    async def load(self) -> dict[str, Phase]:
        """Category → phase; cheap to call every turn."""
        ...

    async def set(self, category: str, phase: Phase) -> None: ...
