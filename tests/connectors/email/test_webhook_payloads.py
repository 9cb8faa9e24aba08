"""Hostile payloads on the providers' webhooks get a clear 4xx and leave the process serving: JSON nested
deeper than the parser (or anything walking the parsed value) can follow."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.connectors.email.test_webhooks import AUTH, hooks, postmark_payload, sendgrid_fields  # noqa: F401

DEEP = 100_000


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def assert_refused_clearly(response: Any) -> None:
    assert response.status_code in (400, 422), (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["detail"]


def still_serving(client: TestClient) -> None:
    answered = client.post("/email/inbound/postmark", json=postmark_payload(), auth=AUTH)
    assert answered.status_code == 200, answered.text


@pytest.mark.parametrize("body", [
    '{"a":' + nested(DEEP) + "}",
    nested(DEEP),
    '{"Headers":' + nested(DEEP) + "}",
], ids=["object", "array", "headers"])
def test_deeply_nested_json_to_postmark_is_refused_with_a_4xx(hooks: TestClient, body: str) -> None:  # noqa: F811
    response = hooks.post("/email/inbound/postmark", content=body.encode(), auth=AUTH,
                          headers={"content-type": "application/json"})
    assert_refused_clearly(response)
    still_serving(hooks)


@pytest.mark.parametrize("field", ["From", "Subject", "TextBody"])
def test_a_field_nested_deeper_than_any_payload_of_a_provider_is_refused(hooks: TestClient,  # noqa: F811
                                                                         field: str) -> None:
    """Parsed fine, yet no documented field is a value like this; anything walking it (turning it into text,
    say) may run out of stack."""
    json.loads(nested(500))  # within the parser's limit
    body = json.dumps(postmark_payload())[:-1] + f', "{field}": {nested(500)}}}'
    response = hooks.post("/email/inbound/postmark", content=body.encode(), auth=AUTH,
                          headers={"content-type": "application/json"})
    assert_refused_clearly(response)
    still_serving(hooks)


@pytest.mark.parametrize("raw_mode", [False, True], ids=["parsed", "raw"])
def test_a_deeply_nested_sendgrid_envelope_is_refused_with_a_4xx(hooks: TestClient,  # noqa: F811
                                                                  raw_mode: bool) -> None:
    fields = sendgrid_fields()
    if raw_mode:
        fields["email"] = ("From: Ada <ada@example.test>\r\nSubject: Password\r\nMessage-ID: <deep@example.test>"
                           "\r\n\r\nHow do I reset my password?\r\n")
    fields["envelope"] = '{"from":' + nested(DEEP) + "}"
    response = hooks.post("/email/inbound/sendgrid", data=fields, auth=AUTH)
    assert_refused_clearly(response)
    still_serving(hooks)
