"""Mail providers' inbound webhooks, posted as their documentation shows (fixtures/), answered over SMTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from connectors.email.channel import EmailChannel
from connectors.email.convert import conversation_id_for
from service.asgi import create_app
from service.container import build_attachments, build_container
from service.settings import Settings
from tests.connectors.email.conftest import CUSTOMER, SUPPORT, Sink
from tests.waiting import wait_for

FIXTURES = Path(__file__).with_name("fixtures")
AUTH = ("supportbot", "hook-secret")


@pytest.fixture
def hooks(settings: Settings, sink: Sink) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"email_webhook_password": AUTH[1]})
    container = build_container(configured, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                answerer=FirstSentenceAnswerer(),
                                channels={"email": EmailChannel("127.0.0.1", sink.port, SUPPORT,
                                                                files=build_attachments(settings))})
    with TestClient(create_app(configured, container)) as client:
        client.container = container  # type: ignore[attr-defined]
        client.sink = sink  # type: ignore[attr-defined]
        yield client


def postmark_payload() -> dict[str, Any]:
    return json.loads((FIXTURES / "postmark_inbound.json").read_text())


def sendgrid_fields() -> dict[str, str]:
    return json.loads((FIXTURES / "sendgrid_inbound.json").read_text())


def history(client: TestClient, message_id: str) -> list[Any]:
    store = client.container.store  # type: ignore[attr-defined]
    return client.portal.call(store.history, conversation_id_for(message_id))  # type: ignore[union-attr]


def test_a_postmark_post_is_answered_in_the_mails_thread(hooks: TestClient, sink: Sink) -> None:
    response = hooks.post("/email/inbound/postmark", json=postmark_payload(), auth=AUTH)
    assert response.status_code == 200, response.text
    [reply] = wait_for(lambda: sink.to(CUSTOMER), what="the reply")
    assert reply.mail["In-Reply-To"] == "<postmark-q1@example.test>"  # the sender's id, not Postmark's
    assert reply.mail["Subject"] == "Re: Password help" and "open Settings, choose Security" in reply.body
    [question, _] = history(hooks, "<postmark-q1@example.test>")
    assert question.message.text.startswith("Hi,\n\nHow do I reset my password?")


def test_a_sendgrid_post_is_answered_in_the_mails_thread(hooks: TestClient, sink: Sink) -> None:
    files = {"attachment1": ("notes.txt", b"my notes", "text/plain")}
    response = hooks.post("/email/inbound/sendgrid", data=sendgrid_fields(), files=files, auth=AUTH)
    assert response.status_code == 200, response.text
    [reply] = wait_for(lambda: sink.to(CUSTOMER), what="the reply")
    assert reply.mail["In-Reply-To"] == "<sendgrid-q1@example.test>"
    assert "open Settings, choose Security" in reply.body


def test_sendgrid_raw_mode_posts_the_whole_mime_message(hooks: TestClient, sink: Sink) -> None:
    raw = (f"From: Ada <{CUSTOMER}>\r\nTo: {SUPPORT}\r\nSubject: Password\r\nMessage-ID: <raw-1@example.test>\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\nHow do I reset my password?\r\n")
    fields = {"email": raw, "envelope": json.dumps({"to": [SUPPORT], "from": CUSTOMER}), "to": SUPPORT,
              "from": CUSTOMER, "subject": "Password"}
    assert hooks.post("/email/inbound/sendgrid", data=fields, auth=AUTH).status_code == 200
    [reply] = wait_for(lambda: sink.to(CUSTOMER), what="the reply")
    assert reply.mail["In-Reply-To"] == "<raw-1@example.test>"


@pytest.mark.parametrize("auth", [None, ("supportbot", "wrong"), ("someone", AUTH[1])])
def test_posts_without_the_right_credentials_are_refused(hooks: TestClient, sink: Sink,
                                                         auth: tuple[str, str] | None) -> None:
    assert hooks.post("/email/inbound/postmark", json=postmark_payload(), auth=auth).status_code == 401
    refused = hooks.post("/email/inbound/sendgrid", data=sendgrid_fields(), auth=auth)
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
    assert history(hooks, "<postmark-q1@example.test>") == [] and sink.received == []


def test_a_bounce_posted_by_a_provider_is_accepted_but_not_answered(hooks: TestClient, sink: Sink) -> None:
    payload = postmark_payload()
    payload["FromFull"] = {"Email": "MAILER-DAEMON@mx.example.test", "Name": "Mail Delivery System"}
    response = hooks.post("/email/inbound/postmark", json=payload, auth=AUTH)
    assert response.status_code == 200 and "not answered" in response.json()["status"]
    assert history(hooks, "<postmark-q1@example.test>") == []


@pytest.mark.parametrize("body", [b"[1, 2]", b"{not json", json.dumps({"Subject": "no sender"}).encode()])
def test_a_payload_that_cannot_be_answered_gets_a_clear_422(hooks: TestClient, body: bytes) -> None:
    response = hooks.post("/email/inbound/postmark", content=body, auth=AUTH,
                          headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"]


def test_without_a_password_the_webhooks_are_not_served(settings: Settings, sink: Sink) -> None:
    container = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                answerer=FirstSentenceAnswerer(),
                                channels={"email": EmailChannel("127.0.0.1", sink.port, SUPPORT,
                                                                files=build_attachments(settings))})
    with TestClient(create_app(settings, container)) as client:
        assert client.post("/email/inbound/postmark", json=postmark_payload(), auth=AUTH).status_code == 404
