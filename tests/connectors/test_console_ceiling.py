"""The proven confidence floor on the console's phase evidence, and in the turn path when it applies itself."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from bot.types import Message, Participant, Role
from service.asgi import create_app
from service.container import Container, build_container
from service.redis_store import RedisProvenFloors
from service.settings import Settings
from tests.connectors.test_console_api import ALICE


def test_the_phase_evidence_shows_each_categorys_floor(settings: Settings, container: Container) -> None:
    settings.ceiling_alpha = 0.1

    async def record() -> None:
        for i in range(30):
            await container.journal.record("review", {
                "conversation_id": f"c{i}", "category": "general", "at": time.time() - 60 + i,
                "verdict": "approved", "confidence": 0.8})

    with TestClient(create_app(settings, container)) as client:
        client.portal.call(record)  # type: ignore[union-attr]
        data = client.get("/api/agent/analytics?days=7", headers=ALICE).json()
    general = next(e for e in data["phase_report"] if e["category"] == "general")
    # at 10 %, any 22 right answers with none false prove a floor
    assert general["ceiling"]["floor"] == 0.8 and general["ceiling"]["reviewed"] == 30
    assert general["ceiling"]["upper_bound"] <= 0.1
    assert data["ceiling"] == {"alpha": 0.1, "delta": 0.1, "edited": "substantial", "applies": False}


async def test_a_stored_floor_raises_the_threshold_of_the_next_turn(settings: Settings) -> None:
    settings.ceiling_apply = True
    container = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                answerer=FirstSentenceAnswerer())
    try:
        async def ask() -> tuple[str, float]:
            customer = Participant(role=Role.CUSTOMER, id="c1")
            state = await container.dialogue.start("web", customer)
            turn = await container.dialogue.handle(Message(conversation_id=state.id, channel="web",
                                                           sender=customer, text="How do I reset my password?"))
            assert turn.outcome is not None
            return turn.outcome.decision.value, turn.outcome.confidence

        decision, confidence = await ask()
        assert decision == "answered" and confidence < 1.0
        floors = RedisProvenFloors(container.redis, settings.redis_prefix)
        await floors.replace({"general": 1.0})  # a floor above this answer's confidence
        decision, _ = await ask()
        assert decision == "escalated"
        await floors.replace({})
        assert (await ask())[0] == "answered"
    finally:
        await container.close()
