"""A new user's first hour with the demo: the README's "Things to try", played in one widget conversation in the
order written, on the demo's categories, help centre and categorizer, each step's outcome as the README says.

While a draft or a handoff waits, a new message never vanishes: the bot answers what its phase lets it answer,
a question for another team moves the conversation to that team, and a request for a person puts it in front
of one."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.runner import InlineTaskRunner
from service.asgi import create_app
from service.cli import SAMPLE_DOCS
from service.container import build_container, build_knowledge
from service.demo import demo_settings
from service.settings import Settings
from tests.connectors.test_webchat_api import agent_headers, history, say, start_conversation

ALICE = agent_headers("alice")
README = SAMPLE_DOCS.parents[1] / "README.md"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The demo as `supportbot demo` configures it (categories, trained categorizer, sample help centre)."""
    from knowledge.ingest import ingest_folder

    settings.demo_history = True
    settings.admin_password = "admin-password"
    demo_settings(settings)
    ingest_folder(build_knowledge(settings), SAMPLE_DOCS, progress=False)
    with TestClient(create_app(settings, build_container(settings, runner=InlineTaskRunner()))) as test_client:
        yield test_client


def queue_items(client: TestClient, cid: str) -> list[dict[str, Any]]:
    response = client.get("/api/agent/handoffs", headers=ALICE)
    assert response.status_code == 200, response.text
    return [h for h in response.json() if h["conversation_id"] == cid]


def last(client: TestClient, cid: str, headers: dict[str, str]) -> dict[str, Any]:
    return history(client, cid, headers)[-1]


def test_the_readme_widget_steps_in_one_conversation_in_the_order_written(client: TestClient) -> None:
    steps = ['"How do I reset my password?" (answered with its source)',
             '"How long do refunds take?"\n  (drafted: the widget says a person is reviewing it)',
             '"How long does delivery take to Germany?" (handed to a\n  person)',
             '"Where is my Edge Box?" (asks you to sign in)', '"talk to a person"']
    readme = README.read_text(encoding="utf-8")
    assert all(step in readme for step in steps), "the README's steps are the ones played here"
    cid, headers = start_conversation(client)

    sent = say(client, cid, headers, "How do I reset my password?")
    assert sent["decision"] == "answered" and sent["owner"] == "bot"
    answer = last(client, cid, headers)
    assert answer["role"] == "bot" and "password" in answer["text"].lower() and answer["citations"]

    sent = say(client, cid, headers, "How long do refunds take?")
    assert sent["decision"] == "drafted" and sent["owner"] == "pending_human"  # the widget: "reviewing"
    [item] = queue_items(client, cid)
    assert item["category"] == "billing" and item["draft"]["text"] and item["reason"] == "draft_review"
    assert last(client, cid, headers)["role"] == "customer", "nothing reaches the customer before the review"

    sent = say(client, cid, headers, "How long does delivery take to Germany?")
    assert sent["decision"] == "escalated" and sent["owner"] == "pending_human"
    ack = last(client, cid, headers)
    assert ack["role"] == "system" and ack["event"] == "escalated" and "shipping question" in ack["text"]
    [item] = queue_items(client, cid)  # one conversation, one item: now in front of the shipping team
    assert (item["category"], item["queue"], item["reason"]) == ("shipping", "logistics", "gated")
    assert item["draft"]["question"] == "How long do refunds take?", "the refund draft still waits for review"

    sent = say(client, cid, headers, "Where is my Edge Box?")  # the customer's own order: who are they?
    assert sent["owner"] == "pending_human"
    asked = last(client, cid, headers)
    assert asked["role"] == "bot" and "sign in" in asked["text"]

    sent = say(client, cid, headers, "talk to a person")
    assert sent["decision"] == "escalated" and sent["owner"] == "pending_human"
    told = last(client, cid, headers)
    assert told["role"] == "system" and "support team will see this" in told["text"]
    [item] = queue_items(client, cid)
    assert item["reason"] == "requested" and item["status"] == "queued" and item["queue"] == "logistics"


def test_asking_for_a_person_while_a_draft_waits_puts_the_conversation_in_front_of_one(client: TestClient
                                                                                       ) -> None:
    cid, headers = start_conversation(client)
    assert say(client, cid, headers, "How long do refunds take?")["decision"] == "drafted"
    sent = say(client, cid, headers, "talk to a person")
    assert sent["decision"] == "escalated" and sent["owner"] == "pending_human"
    ack = last(client, cid, headers)
    assert ack["role"] == "system" and ack["event"] == "escalated" and "support team" in ack["text"]
    [item] = queue_items(client, cid)
    assert item["reason"] == "requested" and item["category"] == "billing" and item["draft"]["text"]


def test_while_a_draft_waits_the_bot_answers_what_its_phase_allows_and_keeps_the_rest_for_the_person(
        client: TestClient) -> None:
    cid, headers = start_conversation(client)
    drafted = say(client, cid, headers, "How long do refunds take?")
    sent = say(client, cid, headers, "How do I turn on two-factor authentication?")  # account: full
    assert sent["decision"] == "answered" and sent["owner"] == "pending_human"
    answer = last(client, cid, headers)
    assert answer["role"] == "bot" and answer["citations"]
    assert answer["event"] == "escalated", "the widget keeps saying a person is still to come"
    [item] = queue_items(client, cid)
    assert item["id"] == drafted["handoff_id"] and item["reason"] == "draft_review"

    sent = say(client, cid, headers, "Can I switch from monthly to yearly billing?")  # billing again: same team
    assert sent["decision"] == "escalated" and sent["handoff_id"] == drafted["handoff_id"]
    told = last(client, cid, headers)
    assert told["role"] == "system" and "will see" in told["text"]
    [item] = queue_items(client, cid)
    assert item["category"] == "billing" and item["reason"] == "draft_review"
    transcript = client.get(f"/api/agent/conversations/{cid}", headers=ALICE).json()["transcript"]
    assert "Can I switch from monthly to yearly billing?" in [m["text"] for m in transcript]


def test_a_drafts_queue_item_is_headed_by_the_question_drafted_not_the_latest_words(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    assert say(client, cid, headers, "How long do refunds take?")["decision"] == "drafted"
    say(client, cid, headers, "thanks")
    assert last(client, cid, headers)["text"] == "thanks", "small talk while waiting is for the person"
    [item] = queue_items(client, cid)
    assert item["latest"]["text"] == "How long do refunds take?"


@pytest.fixture
def demo_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="service.demo")
    return caplog


def test_the_demo_history_summary_is_information_not_a_warning(demo_logs: pytest.LogCaptureFixture,
                                                                client: TestClient) -> None:
    [summary] = [r for r in demo_logs.get_records("setup") if r.getMessage().startswith("demo history:")]
    assert summary.levelno == logging.INFO and "waiting" in summary.getMessage()
