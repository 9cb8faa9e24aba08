"""The handoff state machine, in one place: bot → pending_human → human → bot.

Invariants kept here and nowhere else:
- the bot speaks only while it owns the conversation;
- every move to `pending_human` comes with an acknowledgement for the customer;
- hand-back always returns ownership to the bot, from any human state.
"""

from __future__ import annotations

from enum import StrEnum

from bot.errors import InvalidTransition
from bot.types import Owner


class Step(StrEnum):
    ESCALATE = "escalate"
    CLAIM = "claim"
    AGENT_REPLY = "agent_reply"
    HAND_BACK = "hand_back"
    APPROVE_DRAFT = "approve_draft"


_ALLOWED: dict[Step, dict[Owner, Owner]] = {
    Step.ESCALATE: {Owner.BOT: Owner.PENDING_HUMAN, Owner.PENDING_HUMAN: Owner.PENDING_HUMAN},
    Step.CLAIM: {Owner.PENDING_HUMAN: Owner.HUMAN, Owner.BOT: Owner.HUMAN, Owner.HUMAN: Owner.HUMAN},
    Step.AGENT_REPLY: {Owner.PENDING_HUMAN: Owner.HUMAN, Owner.HUMAN: Owner.HUMAN, Owner.BOT: Owner.HUMAN},
    Step.HAND_BACK: {Owner.PENDING_HUMAN: Owner.BOT, Owner.HUMAN: Owner.BOT, Owner.BOT: Owner.BOT},
    Step.APPROVE_DRAFT: {Owner.PENDING_HUMAN: Owner.BOT, Owner.HUMAN: Owner.BOT},
}


def transition(current: Owner, step: Step) -> Owner:
    """Next owner, or InvalidTransition when the step makes no sense from `current`."""
    try:
        return _ALLOWED[step][current]
    except KeyError:
        raise InvalidTransition(current.value, step.value) from None


def bot_may_speak(owner: Owner) -> bool:
    return owner is Owner.BOT
