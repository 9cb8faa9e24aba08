"""Filling an action's fields: typed values, asking order, and identity fields from the identity only."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.action_form import check_value, identity_values, next_step
from bot.actions import ActionResult, ActionSpec, FieldSpec, Identity, refusal

ORDER_STATUS = ActionSpec.model_validate({
    "name": "order_status", "requires": "verified",
    "fields": [{"name": "customer_id", "source": "identity", "claim": "user_id"},
               {"name": "order_id", "pattern": r"\d{4,8}", "prompt": "What is your order number?"},
               {"name": "since", "type": "date", "source": "conversation", "prompt": "Since when?"}],
    "call": {"url": "http://shop.test/customers/{{ customer_id }}/orders/{{ order_id }}"},
})
DEMO = Identity(verified=True, user_id="demo-customer", source="widget-jwt")


def test_typed_values_are_checked_against_type_and_pattern() -> None:
    order = FieldSpec(name="order_id", pattern=r"\d{4,8}", prompt="?")
    assert check_value(order, " 1042 ").value == "1042"
    assert check_value(order, "1042; drop").error == "order_id does not look right"
    assert check_value(order, "").error == "order_id is empty"
    count = FieldSpec(name="count", type="integer", prompt="?")
    assert check_value(count, "12").value == 12
    assert check_value(count, "twelve").error == "count should be a whole number"
    email = FieldSpec(name="email", type="email", prompt="?")
    assert check_value(email, "a@b.example").ok and not check_value(email, "a@b").ok
    day = FieldSpec(name="day", type="date", prompt="?")
    assert check_value(day, "2026-03-31").value == "2026-03-31"
    assert check_value(day, "31/03/2026").error == "day should be a date like 2026-03-31"


def test_fields_are_asked_in_order_and_an_invalid_answer_is_asked_again() -> None:
    step = next_step(ORDER_STATUS, DEMO, {})
    assert step.kind == "ask" and step.field is not None and step.field.name == "order_id"
    step = next_step(ORDER_STATUS, DEMO, {"order_id": "12"})
    assert step.kind == "ask" and step.field is not None and step.field.name == "order_id"
    assert step.error == "order_id does not look right"
    step = next_step(ORDER_STATUS, DEMO, {"order_id": "1001"})
    assert step.kind == "ask" and step.field is not None and step.field.name == "since"
    step = next_step(ORDER_STATUS, DEMO, {"order_id": "1001", "since": "2026-01-02"})
    assert step.kind == "ready"
    assert step.values == {"customer_id": "demo-customer", "order_id": "1001", "since": "2026-01-02"}


def test_identity_fields_are_never_taken_from_what_the_customer_typed() -> None:
    typed = {"customer_id": "other-customer", "order_id": "1042", "since": "2026-01-02"}
    step = next_step(ORDER_STATUS, DEMO, typed)
    assert step.kind == "ready" and step.values["customer_id"] == "demo-customer"
    # an anonymous visitor who types a customer id is asked to sign in, whatever they typed
    assert next_step(ORDER_STATUS, Identity.anonymous(), typed).kind == "sign_in"
    open_spec = ORDER_STATUS.model_copy(update={"requires": "none"})
    step = next_step(open_spec, Identity.anonymous(), typed)
    assert step.kind == "sign_in" and step.field is not None and step.field.name == "customer_id"
    # an unverified identity's values are not used either
    assert identity_values(ORDER_STATUS, Identity(verified=False, user_id="other-customer")) == {}


def test_a_claim_fills_an_identity_field() -> None:
    spec = ActionSpec.model_validate({"name": "a", "handler": "h",
                                      "fields": [{"name": "account", "source": "identity"}]})
    who = Identity(verified=True, user_id="u1", claims={"account": "ACME-7"}, source="widget-jwt")
    assert next_step(spec, who, {"account": "EVIL-1"}).values == {"account": "ACME-7"}


def test_verified_actions_are_refused_to_unverified_customers() -> None:
    refused = refusal(ORDER_STATUS, Identity.anonymous())
    assert refused is not None and refused.status == "refused"
    assert refusal(ORDER_STATUS, DEMO) is None


def test_specs_reject_inconsistent_declarations() -> None:
    with pytest.raises(ValidationError, match="writes, so it needs a confirm question"):
        ActionSpec.model_validate({"name": "cancel", "writes": True, "handler": "h"})
    with pytest.raises(ValidationError, match="exactly one of call, handler or rasa"):
        ActionSpec.model_validate({"name": "both", "handler": "h", "rasa": "action_x"})
    with pytest.raises(ValidationError, match="has no prompt"):
        FieldSpec(name="order_id", source="ask")


def test_results_redact_their_data() -> None:
    result = ActionResult(status="ok", data={"email": "dana@example.com", "orders": [{"note": "dana@example.com"}]},
                          reply="Sent to dana@example.com")
    clean = result.redacted(lambda s: s.replace("dana@example.com", "[email]"))
    assert clean.data == {"email": "[email]", "orders": [{"note": "[email]"}]} and clean.reply == "Sent to [email]"
