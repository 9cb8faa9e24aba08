"""The same listeners behind Socket Mode and behind the standalone `supportbot slack` HTTP app."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app
from slack_sdk.socket_mode.request import SocketModeRequest

from connectors.slack.app import build_slack_app
from connectors.slack.main import create_http_app
from connectors.slack.socket import socket_mode_handler
from service.settings import Settings
from tests.connectors.slack.conftest import Slack, open_harness, settle, sign, slack_settings
from tests.fakes.slack_api import FakeSlackAPI
from tests.waiting import eventually


async def test_socket_mode_envelope_is_answered_without_a_signing_secret(
    settings: Settings, slack_api: FakeSlackAPI, tmp_path: Path
) -> None:
    settings = slack_settings(settings, slack_api, tmp_path)
    slack, container = await open_harness(settings, slack_api)
    settings.slack_signing_secret = None
    settings.slack_app_token = "xapp-1-test"
    try:
        app = build_slack_app(container, settings, socket_mode=True)
        handler = socket_mode_handler(app, settings.slack_app_token)
        assert handler.app is app
        await handler.close_async()
        event = slack.dm("How do I reset my password?")
        request = SocketModeRequest(
            type="events_api", envelope_id="env-1", payload=json.loads(slack.event_body(event))
        )
        response = await run_async_bolt_app(app, request)
        assert response.status == 200
        [answer] = await eventually(lambda: slack.thread_posts(event["channel"], event["ts"]))
        assert "Settings" in answer["text"]
        await settle()
    finally:
        await slack.http.aclose()
        await container.close()


async def test_standalone_http_app_serves_slack_and_health(slack: Slack, settings: Settings) -> None:
    app = create_http_app(settings, slack.container)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://slack.test"
    ) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        event = slack.dm("How do I reset my password?")
        body = slack.event_body(event)
        response = await http.post(
            "/slack/events", content=body.encode(), headers={"Content-Type": "application/json", **sign(body)}
        )
        assert response.status_code == 200
        await eventually(lambda: slack.thread_posts(event["channel"], event["ts"]))
    await settle()


def test_http_mode_refuses_to_start_without_a_signing_secret(settings: Settings) -> None:
    import pytest

    settings.slack_bot_token = "xoxb-test"
    with pytest.raises(ValueError, match="SIGNING_SECRET"):
        build_slack_app(object(), settings)  # type: ignore[arg-type]
