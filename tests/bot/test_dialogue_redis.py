"""The dialogue manager against a real Redis: state, idempotency, serialization, handoff invariants."""

from __future__ import annotations

import asyncio

import pytest

from bot.desk import agent
from bot.errors import ConversationNotFound
from bot.runner import InlineTaskRunner
from bot.testing import FailingKnowledgeBase, FirstSentenceAnswerer, InMemoryKnowledgeBase, sample_knowledge
from bot.types import Decision, EscalationReason, Message, Owner, Participant, Role
from service.container import Container, build_container
from service.settings import Settings

CUSTOMER = Participant(role=Role.CUSTOMER, id="c1", name="Ada")


def customer_says(conversation_id: str, text: str, message_id: str | None = None) -> Message:
    extra = {"id": message_id} if message_id else {}
    return Message(conversation_id=conversation_id, channel="web", sender=CUSTOMER, text=text, **extra)


async def test_state_round_trip_survives_a_new_process(container: Container, settings: Settings) -> None:
    state = await container.dialogue.start("web", CUSTOMER)
    await container.dialogue.handle(customer_says(state.id, "How do I reset my password?"))
    other = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                            answerer=FirstSentenceAnswerer())  # a second process: its own Redis client
    try:
        loaded = await other.store.load(state.id)
        history = await other.store.history(state.id)
    finally:
        await other.close()
    assert loaded is not None and loaded.customer == CUSTOMER and loaded.owner is Owner.BOT
    assert [e.message.sender.role for e in history] == [Role.CUSTOMER, Role.BOT]
    assert "Settings" in history[1].message.text
    assert history[1].message.citations[0].title == "Resetting your password"


async def test_retried_delivery_is_answered_once(container: Container) -> None:
    state = await container.dialogue.start("web", CUSTOMER)
    first = await container.dialogue.handle(customer_says(state.id, "reset my password", "m-1"))
    again = await container.dialogue.handle(customer_says(state.id, "reset my password", "m-1"))
    assert first.outcome is not None and first.outcome.decision is Decision.ANSWERED
    assert again.duplicate and again.outcome is None
    assert len(await container.store.history(state.id)) == 2


async def test_two_processes_never_interleave_turns_of_one_conversation(settings: Settings) -> None:
    spans: list[tuple[str, str]] = []

    class Recording(InMemoryKnowledgeBase):
        async def search(self, query: str, *, k: int = 4, context=(), reply_passages=()):  # type: ignore[no-untyped-def]
            spans.append(("start", query))
            await asyncio.sleep(0.2)
            spans.append(("end", query))
            return await super().search(query, k=k)

    kb = Recording(sample_knowledge().passages)
    a = build_container(settings, runner=InlineTaskRunner(), knowledge=kb, answerer=FirstSentenceAnswerer())
    b = build_container(settings, runner=InlineTaskRunner(), knowledge=kb, answerer=FirstSentenceAnswerer())
    try:
        state = await a.dialogue.start("web", CUSTOMER)
        await asyncio.gather(a.dialogue.handle(customer_says(state.id, "reset password")),
                             b.dialogue.handle(customer_says(state.id, "Refunds for annual plans")))
        history = await a.store.history(state.id)
    finally:
        await a.close()
        await b.close()
    assert [kind for kind, _ in spans] == ["start", "end", "start", "end"]
    roles = [e.message.sender.role for e in history]
    assert roles == [Role.CUSTOMER, Role.BOT, Role.CUSTOMER, Role.BOT]  # each answer right after its question


async def test_low_confidence_escalates_with_an_acknowledgement(container: Container) -> None:
    state = await container.dialogue.start("web", CUSTOMER)
    turn = await container.dialogue.handle(customer_says(state.id, "Is the moon made of cheese?"))
    await container.runner.drain()  # type: ignore[attr-defined]
    assert turn.outcome is not None and turn.outcome.decision is Decision.ESCALATED
    assert turn.outcome.reason is EscalationReason.NO_ANSWER
    [ack] = turn.replies
    assert "support team" in ack.text and "Expected wait: about 2 minutes" in ack.text
    handoffs = await container.queue.open_handoffs()
    assert [h.conversation_id for h in handoffs] == [state.id]
    assert (await container.store.load(state.id)).owner is Owner.PENDING_HUMAN  # type: ignore[union-attr]


async def test_bot_is_silent_while_a_human_owns_and_speaks_again_after_hand_back(container: Container) -> None:
    dialogue, desk = container.dialogue, container.desk
    state = await dialogue.start("web", CUSTOMER)
    turn = await dialogue.handle(customer_says(state.id, "I want to talk to a human"))
    await container.runner.drain()  # type: ignore[attr-defined]
    assert turn.outcome.reason is EscalationReason.REQUESTED  # type: ignore[union-attr]
    alice = agent("alice", "Alice")
    await desk.claim(turn.handoff_id, alice)  # type: ignore[arg-type]
    quiet = await dialogue.handle(customer_says(state.id, "How do I reset my password?"))
    assert quiet.replies == [] and quiet.outcome is None
    await desk.reply(state.id, alice, "Hi Ada, I can help.")
    await desk.hand_back(state.id, alice)
    back = await dialogue.handle(customer_says(state.id, "How do I reset my password?"))
    assert back.outcome.decision is Decision.ANSWERED  # type: ignore[union-attr]
    texts = [(e.message.sender.role, e.message.text) for e in await container.store.history(state.id)]
    assert (Role.AGENT, "Hi Ada, I can help.") in texts
    assert texts[-1][0] is Role.BOT and "Settings" in texts[-1][1]
    assert await container.queue.open_handoffs() == []


async def test_failure_in_the_bot_path_opens_a_handoff(settings: Settings) -> None:
    built = build_container(settings, runner=InlineTaskRunner(), knowledge=FailingKnowledgeBase(),
                            answerer=FirstSentenceAnswerer())
    try:
        state = await built.dialogue.start("web", CUSTOMER)
        turn = await built.dialogue.handle(customer_says(state.id, "reset my password"))
        await built.runner.drain()  # type: ignore[attr-defined]
        assert turn.outcome.reason is EscalationReason.ERROR  # type: ignore[union-attr]
        assert turn.replies and "person" in turn.replies[0].text
        assert len(await built.queue.open_handoffs()) == 1
    finally:
        await built.close()


async def test_unclaimed_handoff_is_reminded_then_stops_after_claim(settings: Settings) -> None:
    settings.reminder_seconds = 0.05
    settings.max_reminders = 2
    built = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                            answerer=FirstSentenceAnswerer())
    try:
        subscription = await built.queue.subscribe()
        state = await built.dialogue.start("web", CUSTOMER)
        turn = await built.dialogue.handle(customer_says(state.id, "Is the moon made of cheese?"))
        events = []
        while len([e for e in events if e["type"] == "reminder"]) < 2:
            event = await subscription.get(timeout=5)
            assert event is not None, f"no reminder; got {events}"
            events.append(event)
        await subscription.close()
        handoff = await built.queue.get(turn.handoff_id)  # type: ignore[arg-type]
        assert handoff is not None and handoff.reminders == 2
        await built.escalation.sweep({})  # at the limit: the sweep adds nothing
        assert (await built.queue.get(turn.handoff_id)).reminders == 2  # type: ignore[arg-type,union-attr]
    finally:
        await built.close()


async def test_a_turn_reads_its_context_with_the_receipt(container: Container, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """One store step stores the message, tells live subscribers and returns the state and the history the
    turn needs."""
    state = await container.dialogue.start("web", CUSTOMER)
    await container.dialogue.handle(customer_says(state.id, "How do I reset my password?"))
    subscription = await container.store.subscribe(state.id)
    seen_history: list[list[str]] = []
    respond = container.dialogue.responder.respond

    async def recording(message: Message, history=()):  # type: ignore[no-untyped-def]
        seen_history.append([m.text for m in history])
        return await respond(message, history)

    async def no_second_read(*args: object) -> None:
        raise AssertionError("the turn read the history again")

    monkeypatch.setattr(container.dialogue.responder, "respond", recording)
    monkeypatch.setattr(container.store, "tail", no_second_read)
    monkeypatch.setattr(container.store, "load", no_second_read)
    try:
        await container.dialogue.handle(customer_says(state.id, "And how long is the link valid?", "m-2"))
        event = await subscription.get(timeout=5)
    finally:
        await subscription.close()
    assert seen_history[0][0] == "How do I reset my password?" and len(seen_history[0]) == 2
    assert event is not None and event["type"] == "message" and event["seq"] == 3
    assert event["message"]["id"] == "m-2"


async def test_a_message_for_no_conversation_is_refused_and_not_stored(container: Container) -> None:
    with pytest.raises(ConversationNotFound):
        await container.dialogue.handle(customer_says("no-such-conversation", "Hello?", "m-1"))
    assert await container.store.history("no-such-conversation") == []
    assert await container.redis.exists(container.store.keys.seen("no-such-conversation", "m-1")) == 0
