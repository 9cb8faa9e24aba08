"""/metrics of the real app after real turns, handoffs and sockets: every series an operator relies on moves."""

from __future__ import annotations

import redis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from service.asgi import create_app
from service.container import build_container
from service.metrics import task_failures_key
from service.settings import Settings
from tests.connectors.test_console_api import ALICE, escalate
from tests.connectors.test_webchat_api import client, say, start_conversation  # noqa: F401  (the fixture)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient, headers: dict[str, str] | None = None) -> Samples:
    response = client.get("/metrics", headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_turns_stages_and_handoffs_are_counted(client: TestClient) -> None:
    before = scrape(client)
    cid, headers = start_conversation(client)
    assert say(client, cid, headers, "How do I reset my password?")["decision"] == "answered"
    _, _, handoff = escalate(client)

    queued = scrape(client)
    assert value(queued, "supportbot_handoff_queue_depth", queue="general") == 1
    assert value(queued, "supportbot_handoff_oldest_wait_seconds", queue="general") >= 0
    assert ("supportbot_handoff_oldest_wait_seconds", frozenset({("queue", "general")})) in queued
    client.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=ALICE).raise_for_status()
    client.post(f"/api/agent/conversations/{handoff['conversation_id']}/resolve",
                headers=ALICE).raise_for_status()
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    for decision in ("answered", "escalated"):
        assert moved("supportbot_turn_seconds_count", channel="web", decision=decision) == 1, decision
        assert moved("supportbot_turn_seconds_sum", channel="web", decision=decision) > 0, decision
    # the escalated turn found no passage to compose from; every other stage ran in both turns
    for stage, turns in {"categorize": 2, "retrieve": 2, "compose": 1, "gate": 2, "store": 2}.items():
        assert moved("supportbot_turn_stage_seconds_count", stage=stage) == turns, stage
        assert moved("supportbot_turn_stage_seconds_sum", stage=stage) > 0, stage
    for event in ("opened", "claimed", "resolved"):
        assert moved("supportbot_handoffs_total", event=event) == 1, event
    assert value(after, "supportbot_handoff_queue_depth", queue="general") == 0  # claimed: nobody waits
    assert value(after, "supportbot_redis_up") == 1


def test_live_sockets_count_while_open(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    base = value(scrape(client), "supportbot_live_sockets")
    conversation_token = headers["X-Conversation-Token"]
    with client.websocket_connect(f"/api/conversations/{cid}/live?token={conversation_token}"):
        assert value(scrape(client), "supportbot_live_sockets") == base + 1
    assert value(scrape(client), "supportbot_live_sockets") == base


def test_worker_task_failures_recorded_in_redis_are_exposed(client: TestClient, settings: Settings) -> None:
    redis.Redis.from_url(str(settings.redis_url)).hset(task_failures_key(settings.redis_prefix),
                                                       "supportbot.deliver", 3)
    assert value(scrape(client), "supportbot_task_failures_total", task="supportbot.deliver") == 3


def test_metrics_token_when_configured(settings: Settings) -> None:
    settings.metrics_token = "scrape-secret"
    container = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                answerer=FirstSentenceAnswerer())
    with TestClient(create_app(settings, container)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert "supportbot_turn_seconds" in client.get(
            "/metrics", headers={"Authorization": "Bearer scrape-secret"}).text
