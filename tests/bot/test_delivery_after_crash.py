"""A message whose turn died with its process is answered by its next delivery, exactly once, and the dead
process's conversation lock does not keep that delivery waiting for long (a real process, killed)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

from bot.dialogue import Turn
from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, InMemoryKnowledgeBase, sample_knowledge
from bot.types import Decision, Message, Participant, Role
from service.container import Container, build_container
from service.settings import Settings
from tests.faults import fail_once

CUSTOMER = Participant(role=Role.CUSTOMER, id="c1")


def customer_says(conversation_id: str, text: str, message_id: str) -> Message:
    return Message(id=message_id, conversation_id=conversation_id, channel="web", sender=CUSTOMER, text=text)


def killed_mid_turn(settings: Settings, conversation_id: str, message_id: str, text: str) -> None:
    """Start the turn in another process and SIGKILL it while it searches (message stored, no reply)."""
    process = subprocess.Popen([sys.executable, "-m", "tests.bot.stuck_turn", settings.redis_url or "",
                                settings.redis_prefix, conversation_id, message_id, text],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == b"searching", line + process.stdout.read()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


async def test_resend_of_a_message_whose_process_died_is_answered_once(container: Container,
                                                                       settings: Settings) -> None:
    state = await container.dialogue.start("web", CUSTOMER)
    killed_mid_turn(settings, state.id, "m-1", "How do I reset my password?")
    resent = await container.dialogue.handle(customer_says(state.id, "How do I reset my password?", "m-1"))
    again = await container.dialogue.handle(customer_says(state.id, "How do I reset my password?", "m-1"))
    assert not resent.duplicate and resent.outcome is not None
    assert resent.outcome.decision is Decision.ANSWERED
    assert again.duplicate
    history = [e.message for e in await container.store.history(state.id)]
    assert [(m.sender.role, m.text) for m in history] == [
        (Role.CUSTOMER, "How do I reset my password?"), (Role.BOT, resent.replies[0].text)]


async def resent_after_a_store_failure(container: Container, failing: str) -> tuple[str, Turn]:
    """Deliver a message while `store.<failing>` raises once, then deliver it again."""
    state = await container.dialogue.start("web", CUSTOMER)
    fail_once(container.store, failing)
    try:
        await container.dialogue.handle(customer_says(state.id, "reset my password", "m-2"))
    except ConnectionError:
        pass
    return state.id, await container.dialogue.handle(customer_says(state.id, "reset my password", "m-2"))


async def test_a_turn_whose_reply_failed_to_store_is_answered_when_resent(container: Container) -> None:
    conversation_id, resent = await resent_after_a_store_failure(container, "commit")
    assert not resent.duplicate and resent.outcome.decision is Decision.ANSWERED  # type: ignore[union-attr]
    history = [e.message for e in await container.store.history(conversation_id)]
    assert [(m.sender.role, m.id if m.sender.role is Role.CUSTOMER else m.raw["reply_to"]) for m in history] == \
        [(Role.CUSTOMER, "m-2"), (Role.BOT, "m-2")]


async def test_a_turn_stored_but_not_marked_answered_is_not_answered_again(container: Container,
                                                                            monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A reply stored without its message marked answered: what an earlier version, which marked it in a step
    of its own, left when its process died between the two."""
    commit = container.store.commit

    async def commit_then_die(state, reply, answered=None):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(container.store, "commit", commit)
        await commit(state, reply)
        raise ConnectionError("the process died before it marked the message answered")

    monkeypatch.setattr(container.store, "commit", commit_then_die)
    state = await container.dialogue.start("web", CUSTOMER)
    try:
        await container.dialogue.handle(customer_says(state.id, "reset my password", "m-2"))
    except ConnectionError:
        pass
    resent = await container.dialogue.handle(customer_says(state.id, "reset my password", "m-2"))
    assert resent.duplicate
    roles = [e.message.sender.role for e in await container.store.history(state.id)]
    assert roles == [Role.CUSTOMER, Role.BOT]


async def test_a_bot_reply_and_its_message_marked_answered_are_one_step(container: Container,
                                                                        monkeypatch) -> None:  # type: ignore[no-untyped-def]
    marked_apart: list[str] = []
    mark = container.store.mark_answered

    async def recording(conversation_id: str, message_id: str) -> None:
        marked_apart.append(message_id)
        await mark(conversation_id, message_id)

    monkeypatch.setattr(container.store, "mark_answered", recording)
    state = await container.dialogue.start("web", CUSTOMER)
    answered = await container.dialogue.handle(customer_says(state.id, "How do I reset my password?", "m-3"))
    again = await container.dialogue.handle(customer_says(state.id, "How do I reset my password?", "m-3"))
    assert answered.outcome.decision is Decision.ANSWERED and again.duplicate  # type: ignore[union-attr]
    assert marked_apart == []  # no store step of its own


async def test_a_turn_longer_than_the_lock_lease_keeps_its_conversation_to_itself(settings: Settings) -> None:
    """The lease is renewed while the turn runs, so a short lease (quick to free after a crash) does not let
    a second process into a conversation whose turn is merely slow."""
    spans: list[str] = []

    class Slow(InMemoryKnowledgeBase):
        async def search(self, query: str, *, k: int = 4, context=(), reply_passages=()):  # type: ignore[no-untyped-def]
            spans.append("start")
            await asyncio.sleep(2.5)
            spans.append("end")
            return await super().search(query, k=k)

    short = settings.model_copy(update={"turn_lock_seconds": 1.0})
    kb = Slow(sample_knowledge().passages)
    a = build_container(short, runner=InlineTaskRunner(), knowledge=kb, answerer=FirstSentenceAnswerer())
    b = build_container(short, runner=InlineTaskRunner(), knowledge=kb, answerer=FirstSentenceAnswerer())
    try:
        state = await a.dialogue.start("web", CUSTOMER)
        await asyncio.gather(a.dialogue.handle(customer_says(state.id, "reset password", "m-a")),
                             b.dialogue.handle(customer_says(state.id, "refund annual plan", "m-b")))
    finally:
        await a.close()
        await b.close()
    assert spans == ["start", "end", "start", "end"]
