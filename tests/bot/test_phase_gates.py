"""The phase gate: one question, three categories, three behaviours; drafts send only what was approved."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from bot.desk import agent
from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, KeywordCategorizer, sample_knowledge
from bot.types import Decision, EscalationReason, Message, Owner, Participant, Role
from service.container import Container, build_container
from service.settings import Settings

CUSTOMER = Participant(role=Role.CUSTOMER, id="c1", name="Ada")
CATEGORIES = {
    "categories": [
        {"name": "account", "phase": "categorize", "queue": "identity-team", "priority": 2},
        {"name": "security", "phase": "draft"},
        {"name": "password", "phase": "full", "channels": {"email": "draft"}},
    ]
}
# The same question ("reset my password") lands in each category depending on one keyword.
KEYWORDS = {"account": ["account"], "security": ["security"], "password": ["password"]}


@pytest.fixture
async def gated(settings: Settings, tmp_path: Path) -> AsyncIterator[Container]:
    path = tmp_path / "categories.yml"
    path.write_text(yaml.safe_dump(CATEGORIES))
    settings.categories_file = path
    built = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                            answerer=FirstSentenceAnswerer(), categorizer=KeywordCategorizer(KEYWORDS))
    yield built
    await built.close()


async def ask(container: Container, text: str, channel: str = "web"):  # type: ignore[no-untyped-def]
    state = await container.dialogue.start(channel, CUSTOMER)
    turn = await container.dialogue.handle(Message(conversation_id=state.id, channel=channel, sender=CUSTOMER,
                                                   text=text))
    await container.runner.drain()  # type: ignore[attr-defined]
    return state.id, turn


async def customer_view(container: Container, conversation_id: str) -> list[tuple[Role, str]]:
    return [(e.message.sender.role, e.message.text) for e in await container.store.history(conversation_id)
            if e.message.sender.role is not Role.CUSTOMER]


async def test_same_question_three_phases_three_behaviours(gated: Container) -> None:
    _, categorized = await ask(gated, "How do I reset my account password? Settings Security")
    assert categorized.outcome.decision is Decision.ESCALATED  # type: ignore[union-attr]
    assert categorized.outcome.reason is EscalationReason.GATED  # type: ignore[union-attr]
    assert "account question" in categorized.replies[0].text  # acknowledgement only
    [handoff] = await gated.queue.open_handoffs("account")
    assert handoff.queue == "identity-team" and handoff.priority == 2
    assert handoff.shadow is not None and "Settings" in handoff.shadow.text  # what it would have said

    drafted_id, drafted = await ask(gated, "How do I reset my security password? Settings")
    assert drafted.outcome.decision is Decision.DRAFTED and drafted.replies == []  # type: ignore[union-attr]
    assert await customer_view(gated, drafted_id) == []
    state = await gated.store.load(drafted_id)
    assert state is not None and state.pending_draft is not None and state.owner is Owner.PENDING_HUMAN

    _, answered = await ask(gated, "How do I reset my password? Settings")
    assert answered.outcome.decision is Decision.ANSWERED  # type: ignore[union-attr]
    assert answered.replies[0].citations[0].title == "Resetting your password"


async def test_phase_is_per_channel(gated: Container) -> None:
    _, by_email = await ask(gated, "How do I reset my password? Settings", channel="email")
    assert by_email.outcome.decision is Decision.DRAFTED  # type: ignore[union-attr]


async def test_out_of_scope_always_escalates(gated: Container) -> None:
    _, turn = await ask(gated, "Recommend a lasagna recipe")
    assert turn.outcome.reason is EscalationReason.OUT_OF_SCOPE  # type: ignore[union-attr]


@pytest.mark.parametrize("verdict", ["approved", "edited", "rejected"])
async def test_draft_review_sends_exactly_what_was_approved(gated: Container, verdict: str) -> None:
    conversation_id, _ = await ask(gated, "How do I reset my security password? Settings")
    draft = (await gated.store.load(conversation_id)).pending_draft  # type: ignore[union-attr]
    assert draft is not None
    alice = agent("alice")
    if verdict == "approved":
        await gated.desk.approve(conversation_id, alice)
        assert await customer_view(gated, conversation_id) == [(Role.BOT, draft.text)]
    elif verdict == "edited":
        await gated.desk.approve(conversation_id, alice, "Open Settings > Security, then Reset password.")
        assert await customer_view(gated, conversation_id) == [
            (Role.AGENT, "Open Settings > Security, then Reset password.")]
    else:
        await gated.desk.reject(conversation_id, alice, "wrong article")
        assert await customer_view(gated, conversation_id) == []
        assert (await gated.store.load(conversation_id)).owner is Owner.HUMAN  # type: ignore[union-attr]
    [review] = await gated.journal.entries("review")
    assert review["verdict"] == verdict and review["agent"] == "alice" and review["category"] == "security"
    assert review["original"] == draft.text
    assert (review["edit_distance"] == 0) if verdict == "approved" else True
    if verdict == "edited":
        assert review["edit_distance"] > 0 and review["final"].startswith("Open Settings")


async def test_shadow_answer_is_compared_with_the_first_human_reply_only(gated: Container) -> None:
    conversation_id, turn = await ask(gated, "How do I reset my account password? Settings Security")
    alice = agent("alice")
    await gated.desk.claim(turn.handoff_id, alice)  # type: ignore[arg-type]
    await gated.desk.reply(conversation_id, alice, "To reset your password open Settings, then Security.")
    await gated.desk.reply(conversation_id, alice, "Anything else I can help with?")
    [shadow] = await gated.journal.entries("shadow")
    assert shadow["category"] == "account" and shadow["agent_text"].startswith("To reset your password")
    assert len(await gated.journal.entries("first_human_reply")) == 1
