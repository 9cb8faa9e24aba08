"""Bolt's request verification in front of everything: forged or stale requests do nothing at all."""

from __future__ import annotations

import time

from tests.connectors.slack.conftest import Slack, settle, sign


async def test_forged_signature_is_refused_without_side_effects(slack: Slack) -> None:
    event = slack.dm("How do I reset my password?")
    body = slack.event_body(event)
    forged = sign(body, secret="not-the-signing-secret")
    response = await slack.http.post(
        "/slack/events", content=body.encode(), headers={"Content-Type": "application/json", **forged}
    )
    assert response.status_code == 401
    await settle()
    assert slack.api.of("chat.postMessage") == []
    assert await slack.container.store.recent() == []


async def test_body_changed_after_signing_is_refused(slack: Slack) -> None:
    body = slack.event_body(slack.dm("How do I reset my password?"))
    headers = {"Content-Type": "application/json", **sign(body)}
    response = await slack.http.post(
        "/slack/events", content=body.replace("reset", "RESET").encode(), headers=headers
    )
    assert response.status_code == 401


async def test_stale_timestamp_is_refused(slack: Slack) -> None:
    body = slack.event_body(slack.dm("How do I reset my password?"))
    response = await slack.post(body, "application/json", timestamp=int(time.time()) - 6 * 60)
    assert response.status_code == 401
    await settle()
    assert slack.api.of("chat.postMessage") == []


async def test_url_verification_challenge_is_answered(slack: Slack) -> None:
    body = (
        '{"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", '
        '"type": "url_verification"}'
    )
    response = await slack.post(body, "application/json")
    assert response.status_code == 200 and response.json()["challenge"].startswith("3eZbrw")
