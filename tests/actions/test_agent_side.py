"""The agents' and operators' side of actions, through the real app, a real Redis and the demo shop as a
process: every call in the console with "run again", conversations resolved by each action in analytics,
calls per action on /metrics, and the per-conversation limit of calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.analytics import analytics, to_csv
from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from service.asgi import create_app
from service.container import build_container
from service.settings import Settings
from tests.actions.conftest import Shop
from tests.actions.test_conversations import (
    DEMO,
    ORDERS,
    SECRET,
    categorizer_file,  # noqa: F401  (a fixture)
    signed,
    start,
)
from tests.connectors.test_claims import Desks, seated
from tests.connectors.test_webchat_api import AGENT_TOKEN, history, say

ADMIN = {"Authorization": f"Bearer {AGENT_TOKEN}"}
LIMIT = 3  # action calls per conversation in these tests


@pytest.fixture(scope="module")
def actions_file(shop: Shop, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's actions on this shop's port, order numbers up to 12 digits long (a phone number's length, so
    the redaction of personal data labels them)."""
    path = tmp_path_factory.mktemp("actions") / "actions.yml"
    path.write_text((DEMO / "actions.yml").read_text().replace("127.0.0.1:8765", shop.host)
                    .replace('"\\\\d{4,8}"', '"\\\\d{4,12}"'))
    assert "d{4,12}" in path.read_text()
    return path


@pytest.fixture
def desks(settings: Settings, shop: Shop, actions_file: Any, categorizer_file: Any,  # noqa: F811
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Desks]:
    monkeypatch.setenv("SHOP_API_TOKEN", shop.token)
    settings.categories_file = DEMO / "categories.yml"
    settings.categorizer_artifact = categorizer_file
    settings.actions_file = actions_file
    settings.identity_jwt_secret = SECRET
    settings.rate_limits = {"action_calls": f"{LIMIT}/10 minutes"}
    container = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                answerer=FirstSentenceAnswerer())
    with TestClient(create_app(settings, container)) as client:
        yield seated(client, container)


def calls_of(desks: Desks, cid: str, agent: str = "alice") -> list[dict[str, Any]]:
    return desks.get(agent, f"/api/agent/conversations/{cid}/actions")  # type: ignore[no-any-return]


def metric(client: TestClient, name: str, **labels: str) -> float:
    text = client.get("/metrics").text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def test_agents_see_each_call_and_run_it_again_for_themselves_only(desks: Desks, shop: Shop) -> None:
    client = desks.client
    cid, headers = start(client, identity_token=signed("demo-customer"))
    ok_before = metric(client, "supportbot_action_calls_total", action="list_orders", status="ok")
    timed_before = metric(client, "supportbot_action_call_seconds_count", action="list_orders")
    say(client, cid, headers, "Where is my Edge Box?")

    [call] = calls_of(desks, cid)
    assert call["name"] == "list_orders" and call["inputs"] == {"customer_id": "demo-customer"}
    assert call["result"]["status"] == "ok" and call["result"]["http_status"] == 200
    assert call["result"]["latency_ms"] > 0 and call["by"] is None and call["index"] == 0
    assert any(o["id"] == "1001" for o in call["result"]["data"]["orders"])
    assert "has shipped with DHL" in call["result"]["reply"]
    assert "values" not in call
    view = desks.get("alice", f"/api/agent/conversations/{cid}")
    assert view["actions"] == [call] and "action_calls" not in view["state"]["slots"]
    assert metric(client, "supportbot_action_calls_total", action="list_orders", status="ok") == ok_before + 1
    assert metric(client, "supportbot_action_call_seconds_count", action="list_orders") == timed_before + 1

    seen_by_customer = history(client, cid, headers)
    hits = shop.hits(ORDERS)
    rerun = desks.post("alice", f"/api/agent/conversations/{cid}/actions/0/rerun")
    assert rerun.status_code == 200, rerun.text
    assert rerun.json()["by"] == "alice" and rerun.json()["result"]["status"] == "ok"
    assert shop.hits(ORDERS) == hits + 1
    assert history(client, cid, headers) == seen_by_customer  # the customer is sent nothing
    assert [c["by"] for c in calls_of(desks, cid)] == [None, "alice"]
    assert desks.post("alice", f"/api/agent/conversations/{cid}/actions/7/rerun").status_code == 404


def test_personal_data_is_labelled_for_agents_and_the_rerun_uses_the_value_as_given(desks: Desks,
                                                                                    shop: Shop) -> None:
    client = desks.client
    number = "5551234567"  # an order number as long as a phone number: labelled wherever agents see it
    path = f"/customers/demo-customer/orders/{number}"
    cid, headers = start(client, identity_token=signed("demo-customer"))
    say(client, cid, headers, f"What is the status of order {number}?")

    [call] = calls_of(desks, cid)
    assert call["name"] == "order_status" and call["result"]["status"] == "not_found"
    assert number not in json.dumps(call) and call["inputs"]["order_id"] == "[phone number]"
    assert number not in json.dumps(desks.get("alice", f"/api/agent/conversations/{cid}")["actions"])
    assert shop.hits(path) == 1
    rerun = desks.post("alice", f"/api/agent/conversations/{cid}/actions/0/rerun")
    assert rerun.status_code == 200, rerun.text
    assert number not in rerun.text
    assert shop.hits(path) == 2  # the shop was asked about the number as the customer gave it


def test_a_rerun_asks_about_the_conversations_own_customer(desks: Desks, shop: Shop) -> None:
    client = desks.client
    customer = "ann.lee@example.com"  # a customer id that is an email address: redacted wherever it is shown
    path = f"/customers/{customer}/orders"
    cid, headers = start(client, identity_token=signed(customer))
    turn = say(client, cid, headers, "Where is my Edge Box?")
    assert turn["decision"] == "escalated"  # the shop knows no such customer: a person takes it

    [call] = calls_of(desks, cid)
    assert call["result"]["status"] == "not_found" and call["result"]["http_status"] == 404
    assert customer not in json.dumps(call) and call["inputs"]["customer_id"] != customer
    assert shop.hits(path) == 1
    rerun = desks.post("alice", f"/api/agent/conversations/{cid}/actions/0/rerun")
    assert rerun.status_code == 200, rerun.text
    assert customer not in rerun.text
    assert shop.hits(path) == 2  # the shop was asked about the customer as they are, not "[email]"


def test_only_an_agent_who_may_act_on_the_conversation_runs_a_call_again(desks: Desks, shop: Shop) -> None:
    client = desks.client
    cid, headers = start(client, identity_token=signed("demo-customer"))
    say(client, cid, headers, "Where is my Edge Box?")
    assert desks.post("alice", f"/api/agent/conversations/{cid}/takeover").status_code == 200
    hits = shop.hits(ORDERS)
    refused = desks.post("bob", f"/api/agent/conversations/{cid}/actions/0/rerun")
    assert refused.status_code == 403 and "alice" in refused.json()["detail"]
    assert shop.hits(ORDERS) == hits
    assert desks.post("root", f"/api/agent/conversations/{cid}/actions/0/rerun").status_code == 200
    assert shop.hits(ORDERS) == hits + 1


def test_a_call_that_changes_something_is_never_run_again_from_the_console(desks: Desks, shop: Shop) -> None:
    client = desks.client
    cid, headers = start(client, identity_token=signed("demo-customer"))
    say(client, cid, headers, "Please cancel order 1042")
    say(client, cid, headers, "yes")
    [call] = calls_of(desks, cid)
    assert call["name"] == "cancel_order"
    cancel = "/customers/demo-customer/orders/1042/cancel"
    hits = shop.hits(cancel)
    refused = desks.post("alice", f"/api/agent/conversations/{cid}/actions/0/rerun")
    assert refused.status_code == 409, refused.text
    assert shop.hits(cancel) == hits


def test_over_the_limit_of_calls_the_turn_goes_to_a_person_with_the_reason(desks: Desks, shop: Shop) -> None:
    client = desks.client
    cid, headers = start(client, identity_token=signed("demo-customer"))
    hits = shop.hits(ORDERS)
    limited_before = metric(client, "supportbot_action_calls_rate_limited_total", action="list_orders")
    for _ in range(LIMIT):
        assert say(client, cid, headers, "Where is my Edge Box?")["decision"] == "answered"
    turn = say(client, cid, headers, "Where is my Edge Box?")
    assert turn["decision"] == "escalated"
    assert shop.hits(ORDERS) == hits + LIMIT
    handoff = next(h for h in client.get("/api/agent/handoffs", headers=ADMIN).json()
                   if h["conversation_id"] == cid)
    assert handoff["reason"] == "action_failed" and "rate limited" in handoff["explanation"]
    assert metric(client, "supportbot_action_calls_rate_limited_total", action="list_orders") == limited_before + 1
    other, other_headers = start(client, identity_token=signed("demo-customer"))  # the limit is per conversation
    assert say(client, other, other_headers, "Where is my Edge Box?")["decision"] == "answered"


def test_analytics_count_conversations_each_action_resolved(desks: Desks) -> None:
    client = desks.client
    resolved, headers = start(client, identity_token=signed("demo-customer"))
    say(client, resolved, headers, "Where is my Edge Box?")
    handed_off, other = start(client, identity_token=signed("demo-customer"))
    say(client, handed_off, other, "Where is my Edge Box?")
    assert say(client, handed_off, other, "I want to talk to a human")["decision"] == "escalated"

    figures = client.get("/api/agent/analytics", headers=ADMIN).json()
    assert figures["totals"]["resolved_by_action"] == {"list_orders": 1}
    csv = client.get("/api/agent/analytics.csv", headers=ADMIN).text
    assert "resolved_by_action" in csv.splitlines()[0] and '{""list_orders"": 1}' in csv


def _turn(cid: str, at: float, decision: str, action: str | None = None, status: str = "ok") -> dict[str, Any]:
    return {"kind": "turn", "conversation_id": cid, "at": at, "decision": decision, "category": "orders",
            "channel": "web", "phase": "full",
            "action": {"name": action, "inputs": {}, "result": {"status": status}} if action else None}


def test_a_confirmed_conversation_counts_for_its_action_despite_a_later_handoff() -> None:
    entries = [
        _turn("a", 1, "answered", "order_status"), _turn("a", 2, "escalated"),
        {"kind": "confirmation", "conversation_id": "a", "resolved": True, "at": 3},
        _turn("b", 1, "answered", "order_status"), _turn("b", 2, "escalated"),  # not confirmed: a person did
        _turn("c", 1, "answered", "list_orders", status="refused"),  # asked to sign in: nothing answered
        _turn("d", 1, "escalated"), _turn("d", 2, "answered", "list_orders"),  # the handoff came before
    ]
    [row] = analytics(entries, now=10)
    assert row.resolved_by_action == {"order_status": 1, "list_orders": 1}
    assert '"{""list_orders"": 1, ""order_status"": 1}"' in to_csv([row])
