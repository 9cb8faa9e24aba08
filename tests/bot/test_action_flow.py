"""An action's way through a conversation: fields asked over turns, a write confirmed, results gated by phase."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from bot.action_flow import ActionFlow, Form, mentioned
from bot.actions import ActionResult, ActionSpec, Identity
from bot.types import Decision, EscalationReason, Phase, TurnOutcome

CUSTOMER = Identity(verified=True, user_id="c-7", source="widget-jwt")
ORDER_STATUS = ActionSpec.model_validate({
    "name": "order_status", "examples": ["where is my order"], "requires": "verified",
    "fields": [{"name": "customer_id", "source": "identity", "claim": "user_id"},
               {"name": "order_id", "pattern": r"\d{4,8}", "prompt": "What is your order number?"}],
    "call": {"url": "http://shop.test/customers/{{ customer_id }}/orders/{{ order_id }}"},
})
CANCEL = ActionSpec.model_validate({
    "name": "cancel_order", "requires": "verified", "writes": True, "confirm": "Shall I cancel order {{ order_id }}?",
    "fields": [{"name": "customer_id", "source": "identity", "claim": "user_id"},
               {"name": "order_id", "pattern": r"\d{4,8}", "prompt": "Which order?"}],
    "call": {"method": "POST", "url": "http://shop.test/customers/{{ customer_id }}/orders/{{ order_id }}/cancel"},
})


class RecordingRunner:
    """Answers every call with `result` and remembers what it was asked."""

    def __init__(self, result: ActionResult) -> None:
        self.result = result
        self.calls: list[tuple[str, dict[str, Any], Identity]] = []

    async def run(self, spec: ActionSpec, fields: Mapping[str, Any], identity: Identity) -> ActionResult:
        self.calls.append((spec.name, dict(fields), identity))
        return self.result


def flow(result: ActionResult | None = None) -> tuple[ActionFlow, RecordingRunner]:
    runner = RecordingRunner(result or ActionResult(status="ok", reply="Your order has shipped."))
    render = lambda template, values: template.replace("{{ order_id }}", str(values.get("order_id", "")))  # noqa: E731
    return ActionFlow({"order_status": ORDER_STATUS, "cancel_order": CANCEL}, runner, render,
                      redact=lambda text: text), runner


def base(phase: Phase = Phase.FULL, category: str = "order_status") -> TurnOutcome:
    return TurnOutcome(decision=Decision.ESCALATED, category=category, phase=phase)


async def test_a_missing_value_is_asked_then_the_call_answers() -> None:
    actions, runner = flow()
    outcome, form = await actions.start("order_status", "where is my order?", CUSTOMER, base())
    assert outcome.decision is Decision.ANSWERED and outcome.text == "What is your order number?"
    assert form is not None and form.asking == "order_id" and not runner.calls
    stored = Form.model_validate(form.model_dump(mode="json"))  # as another process reads it from the store
    outcome2, form2 = await actions.resume(stored, "1001", CUSTOMER, base())
    assert form2 is None and outcome2 is not None
    assert outcome2.decision is Decision.ANSWERED and outcome2.text == "Your order has shipped."
    assert runner.calls == [("order_status", {"customer_id": "c-7", "order_id": "1001"}, CUSTOMER)]
    assert outcome2.action is not None and outcome2.action.inputs["order_id"] == "1001"


async def test_a_value_in_the_question_is_not_asked_again() -> None:
    actions, runner = flow()
    outcome, form = await actions.start("order_status", "Has order 1042 shipped?", CUSTOMER, base())
    assert form is None and outcome.decision is Decision.ANSWERED and runner.calls[0][1]["order_id"] == "1042"


async def test_a_value_refused_twice_goes_to_a_person() -> None:
    actions, runner = flow()
    _, form = await actions.start("order_status", "where is my order?", CUSTOMER, base())
    assert form is not None
    outcome, form = await actions.resume(form, "abc", CUSTOMER, base())
    assert outcome is not None and outcome.decision is Decision.ANSWERED
    assert "doesn't look right" in outcome.text and "What is your order number?" in outcome.text
    assert form is not None
    outcome, form = await actions.resume(form, "xyz", CUSTOMER, base())
    assert outcome is not None and outcome.decision is Decision.ESCALATED and form is None
    assert not runner.calls


@pytest.mark.parametrize("text", ["never mind", "Cancel.", "forget it"])
async def test_never_mind_leaves_the_form(text: str) -> None:
    actions, runner = flow()
    _, form = await actions.start("order_status", "where is my order?", CUSTOMER, base())
    assert form is not None
    outcome, left = await actions.resume(form, text, CUSTOMER, base())
    assert left is None and outcome is not None and outcome.handled_as == "action_cancelled"
    assert not runner.calls


async def test_a_new_question_leaves_the_form_for_the_usual_path() -> None:
    actions, _ = flow()
    _, form = await actions.start("order_status", "where is my order?", CUSTOMER, base())
    assert form is not None
    outcome, left = await actions.resume(form, "How long do refunds take?", CUSTOMER, base())
    assert outcome is None and left is None


async def test_an_unverified_customer_is_asked_to_sign_in_and_nothing_is_called() -> None:
    actions, runner = flow()
    outcome, form = await actions.start("order_status", "Has order 1001 shipped?", Identity(), base())
    assert form is None and outcome.handled_as == "action_sign_in" and "sign in" in outcome.text
    assert not runner.calls


async def test_a_typed_customer_id_is_never_used() -> None:
    actions, runner = flow()
    await actions.start("order_status", "order 1001 for customer_id c-1", CUSTOMER, base())
    assert runner.calls[0][1]["customer_id"] == "c-7"


async def test_a_write_runs_only_after_yes() -> None:
    actions, runner = flow(ActionResult(status="ok", reply="Order 1042 is cancelled."))
    outcome, form = await actions.start("cancel_order", "cancel order 1042", CUSTOMER, base(category="cancel_order"))
    assert outcome.handled_as == "action_confirm" and "Shall I cancel order 1042?" in outcome.text
    assert form is not None and not runner.calls
    outcome2, _ = await actions.resume(form, "no", CUSTOMER, base())
    assert outcome2 is not None and outcome2.handled_as == "action_cancelled" and not runner.calls
    _, form = await actions.start("cancel_order", "cancel order 1042", CUSTOMER, base(category="cancel_order"))
    assert form is not None
    outcome3, _ = await actions.resume(form, "yes", CUSTOMER, base())
    assert outcome3 is not None and outcome3.text == "Order 1042 is cancelled." and len(runner.calls) == 1


@pytest.mark.parametrize(("phase", "decision", "reason"), [
    (Phase.FULL, Decision.ANSWERED, None),
    (Phase.DRAFT, Decision.DRAFTED, EscalationReason.DRAFT_REVIEW),
    (Phase.CATEGORIZE, Decision.ESCALATED, EscalationReason.GATED),
])
async def test_the_phase_decides_what_the_result_may_do(phase: Phase, decision: Decision,
                                                        reason: EscalationReason | None) -> None:
    actions, _ = flow()
    outcome, _ = await actions.start("order_status", "Has order 1001 shipped?", CUSTOMER, base(phase))
    assert outcome.decision is decision and outcome.reason is reason
    assert outcome.text == "Your order has shipped." and outcome.action is not None  # the agent sees the result


async def test_a_failed_call_hands_off_with_its_result() -> None:
    actions, _ = flow(ActionResult(status="failed", http_status=500, error="server error"))
    outcome, _ = await actions.start("order_status", "Has order 1001 shipped?", CUSTOMER, base())
    assert outcome.decision is Decision.ESCALATED and outcome.reason is EscalationReason.ACTION_FAILED
    assert outcome.action is not None and outcome.action.result.http_status == 500


def test_values_are_found_only_as_whole_words() -> None:
    assert mentioned(ORDER_STATUS, "order 1001?") == {"order_id": "1001"}
    assert mentioned(ORDER_STATUS, "call 555-12345") == {}
