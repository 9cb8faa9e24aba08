"""A Slack harness: the Bolt app behind FastAPI, a real Redis, and a local stand-in of the Slack Web API.

Requests are signed exactly as Slack signs them (v0 HMAC-SHA256 over `v0:{timestamp}:{body}`), events are JSON
callbacks, interactivity is `payload=` form data and slash commands are form-encoded.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import yaml
from fastapi import FastAPI
from slack_sdk.signature import SignatureVerifier

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, KeywordCategorizer, sample_knowledge
from connectors.slack.app import build_slack_app
from connectors.slack.http import slack_router
from service.container import Container, build_container
from service.settings import Settings
from tests.fakes.slack_api import BOT_USER_ID, TEAM_ID, FakeSlackAPI

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
AGENTS = "CAGENTS"
AGENT, OTHER_AGENT, EMPLOYEE, STRANGER = "UALICE", "UBOB", "UEMMA", "USTRANGER"
# "account" questions only get categorized; "security" questions need review in Slack (draft),
# though the bot may answer them elsewhere (full).
CATEGORIES = {
    "categories": [
        {"name": "account", "phase": "categorize"},
        {"name": "security", "phase": "full", "channels": {"slack": "draft"}},
        {"name": "password", "phase": "full"},
    ]
}
KEYWORDS = {"account": ["account"], "security": ["security", "vpn"], "password": ["password"]}



def texts(blocks: list[dict[str, Any]]) -> str:
    """Every mrkdwn / plain text in a list of blocks, one per line: what a person would read."""
    out: list[str] = []

    def add(item: Any) -> None:
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            out.append(item["text"])
        elif isinstance(item, dict) and isinstance(item.get("text"), dict):
            add(item["text"])

    for block in blocks:
        add(block)
        for item in block.get("fields", []) + block.get("elements", []):
            add(item)
    return "\n".join(out)


async def settle(timeout: float = 10.0) -> None:
    """Wait until every background task of this loop (listeners, inline jobs) has finished."""
    deadline = time.monotonic() + timeout
    while True:
        others = {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}
        if not others:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{len(others)} task(s) still running after {timeout} s")
        await asyncio.wait(others, timeout=remaining)


class NoRemindersRunner(InlineTaskRunner):
    """Inline jobs, minus the delayed reminders (they would keep `settle` waiting for minutes)."""

    def start(self, name: str, payload: dict[str, Any], *, countdown: float = 0) -> None:
        if not countdown:
            super().start(name, payload)


def sign(body: str, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


@dataclass
class Slack:
    """Sends what Slack sends; `api` is what the app sent back to Slack."""

    http: httpx.AsyncClient
    api: FakeSlackAPI
    container: Container
    _ids: count = field(default_factory=lambda: count(1))

    def ts(self) -> str:
        return f"1710000000.{next(self._ids):06d}"

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
    ) -> httpx.Response:
        signed = {"Content-Type": content_type, **sign(body, timestamp), **(headers or {})}
        return await self.http.post("/slack/events", content=body.encode(), headers=signed)

    def event_body(self, event: dict[str, Any], event_id: str | None = None) -> str:
        return json.dumps(
            {
                "token": "legacy",
                "team_id": TEAM_ID,
                "api_app_id": "A1",
                "type": "event_callback",
                "event_id": event_id or f"Ev{next(self._ids):08d}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
                "event": event,
            }
        )

    async def event(
        self, event: dict[str, Any], *, headers: dict[str, str] | None = None, event_id: str | None = None
    ) -> httpx.Response:
        return await self.post(self.event_body(event, event_id), "application/json", headers=headers)

    def dm(self, text: str, user: str = EMPLOYEE, thread_ts: str | None = None) -> dict[str, Any]:
        ts = self.ts()
        event = {
            "type": "message",
            "channel": "D" + user,
            "channel_type": "im",
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "team": TEAM_ID,
            "client_msg_id": f"cm-{ts}",
        }
        return {**event, "thread_ts": thread_ts} if thread_ts else event

    def mention(self, text: str, channel: str = "CGENERAL", user: str = EMPLOYEE) -> dict[str, Any]:
        ts = self.ts()
        return {
            "type": "app_mention",
            "channel": channel,
            "user": user,
            "text": f"<@{BOT_USER_ID}> {text}",
            "ts": ts,
            "event_ts": ts,
            "team": TEAM_ID,
            "client_msg_id": f"cm-{ts}",
        }

    def in_thread(self, text: str, channel: str, thread_ts: str, user: str) -> dict[str, Any]:
        ts = self.ts()
        return {
            "type": "message",
            "channel": channel,
            "channel_type": "channel",
            "user": user,
            "text": text,
            "ts": ts,
            "thread_ts": thread_ts,
            "event_ts": ts,
            "team": TEAM_ID,
            "client_msg_id": f"cm-{ts}",
        }

    async def command(self, text: str, user: str = EMPLOYEE, command: str = "/helpdesk") -> httpx.Response:
        return await self.post(self.command_body(text, user, command), "application/x-www-form-urlencoded")

    def command_body(self, text: str, user: str = EMPLOYEE, command: str = "/helpdesk") -> str:
        return urlencode(
            {
                "token": "legacy",
                "team_id": TEAM_ID,
                "team_domain": "acme",
                "channel_id": "CGENERAL",
                "channel_name": "general",
                "user_id": user,
                "user_name": user.lower(),
                "command": command,
                "text": text,
                "api_app_id": "A1",
                "response_url": "https://hooks.slack.com/commands/x",
                "trigger_id": f"trig-{next(self._ids)}",
            }
        )

    async def click(self, action_id: str, post: dict[str, Any], user: str = AGENT) -> httpx.Response:
        """Press a button of an agents-channel post as `chat.postMessage` sent it."""
        [button] = [
            e
            for b in post["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == action_id
        ]
        return await self._interaction(
            "block_actions", user,
            container={"type": "message", "message_ts": post["ts"], "channel_id": AGENTS},
            channel={"id": AGENTS, "name": "it-agents"},
            message={"ts": post["ts"], "text": ""},
            response_url="https://hooks.slack.com/actions/x",
            actions=[
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b",
                    "value": button["value"],
                    "text": button["text"],
                    "action_ts": self.ts(),
                }
            ],
        )

    async def submit(self, view: dict[str, Any], text: str, user: str = AGENT) -> httpx.Response:
        """Submit a modal as `views.open` received it, with `text` typed in its input."""
        state = {"values": {"draft": {"text": {"type": "plain_text_input", "value": text}}}}
        return await self._interaction(
            "view_submission", user, view={**view, "id": "V1", "team_id": TEAM_ID, "state": state}
        )

    async def _interaction(self, kind: str, user: str, **fields: Any) -> httpx.Response:
        """An interactivity request as Slack sends it: the shared envelope, form-encoded as `payload`."""
        payload = {
            "type": kind,
            "team": {"id": TEAM_ID, "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
            "api_app_id": "A1",
            "token": "legacy",
            "trigger_id": f"trig-{next(self._ids)}",
            **fields,
        }
        return await self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )

    def thread_posts(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        return [c.params for c in self.api.of("chat.postMessage", channel=channel, thread_ts=thread_ts)]

    def agents_posts(self) -> list[dict[str, Any]]:
        """Top-level posts in the agents channel, each with the `ts` Slack gave it."""
        return [
            {**c.params, "ts": c.response["ts"]}
            for c in self.api.of("chat.postMessage", channel=AGENTS)
            if not c.params.get("thread_ts")
        ]


@pytest.fixture
def slack_api() -> Iterator[FakeSlackAPI]:
    fake = FakeSlackAPI().start()
    fake.members[AGENTS] = [AGENT, OTHER_AGENT, BOT_USER_ID]
    yield fake
    fake.stop()


def slack_settings(settings: Settings, api: FakeSlackAPI, tmp_path: Path) -> Settings:
    path = tmp_path / "categories.yml"
    path.write_text(yaml.safe_dump(CATEGORIES))
    settings.categories_file = path
    settings.slack_bot_token = "xoxb-test"
    settings.slack_signing_secret = SIGNING_SECRET
    settings.slack_agents_channel = AGENTS
    settings.slack_api_url = api.url
    return settings


async def open_harness(
    settings: Settings, api: FakeSlackAPI, **container_args: Any
) -> tuple[Slack, Container]:
    container = build_container(
        settings,
        **{
            "runner": NoRemindersRunner(),
            "knowledge": sample_knowledge(),
            "answerer": FirstSentenceAnswerer(),
            "categorizer": KeywordCategorizer(KEYWORDS),
            **container_args,
        },
    )
    app = FastAPI()
    app.include_router(slack_router(build_slack_app(container, settings)))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://slack.test")
    return Slack(http, api, container), container


@pytest.fixture
async def slack(settings: Settings, slack_api: FakeSlackAPI, tmp_path: Path) -> AsyncIterator[Slack]:
    harness, container = await open_harness(slack_settings(settings, slack_api, tmp_path), slack_api)
    try:
        yield harness
        await settle()
    finally:
        await harness.http.aclose()
        await container.close()
