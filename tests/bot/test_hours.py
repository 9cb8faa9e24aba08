"""Business hours decide whether a handoff's acknowledgement promises a wait or says when people are back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.hours import BusinessHours
from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from bot.types import Message, Participant, Role
from service.container import build_container
from service.settings import Settings

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SATURDAY_10 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def test_parse_and_open_hours() -> None:
    hours = BusinessHours.parse("mon-fri 09:00-17:00", "Europe/Paris")
    assert hours.is_open(MONDAY_10) and not hours.is_open(SATURDAY_10)
    assert hours.describe_next_opening(SATURDAY_10).startswith("Monday at 09:00")
    assert BusinessHours.parse("sat-sun 10:00-14:00").days == [5, 6]
    with pytest.raises(ValueError, match="mon-fri 09:00-17:00"):
        BusinessHours.parse("weekdays")


async def test_out_of_hours_acknowledgement(settings: Settings) -> None:
    tomorrow = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(datetime.now(UTC).weekday() + 1) % 7]
    settings.business_hours = f"{tomorrow} 09:00-17:00"  # open only tomorrow: closed now
    bot = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                          answerer=FirstSentenceAnswerer())
    try:
        customer = Participant(role=Role.CUSTOMER, id="c")
        state = await bot.dialogue.start("web", customer)
        turn = await bot.dialogue.handle(Message(conversation_id=state.id, channel="web", sender=customer,
                                                 text="I want to talk to a human"))
        await bot.runner.drain()  # type: ignore[attr-defined]
        [ack] = turn.replies
        assert "offline right now" in ack.text and "Expected wait" not in ack.text
    finally:
        await bot.close()
