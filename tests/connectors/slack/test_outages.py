"""What Slack and the employee get when Redis or the Celery worker is down (measured, not assumed)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import redis.asyncio as aioredis

from connectors.slack.employees import UNAVAILABLE
from service.settings import Settings
from tests.connectors.slack.conftest import open_harness, settle, slack_settings
from tests.fakes.slack_api import FakeSlackAPI
from tests.waiting import eventually


async def test_redis_down_still_acks_and_tells_the_employee(
    settings: Settings, slack_api: FakeSlackAPI, tmp_path: Path
) -> None:
    settings.redis_url = "redis://127.0.0.1:1/0"  # nothing listens there
    slack, container = await open_harness(slack_settings(settings, slack_api, tmp_path), slack_api)
    try:
        event = slack.dm("How do I reset my password?")
        started = time.monotonic()
        response = await slack.event(event)
        acked_after = time.monotonic() - started
        assert response.status_code == 200
        [apology] = await eventually(lambda: slack.thread_posts(event["channel"], event["ts"]))
        told_after = time.monotonic() - started
        assert apology["text"] == UNAVAILABLE
        command = await slack.command("How do I reset my password?")
        assert command.json()["text"] == "Looking into it…"
        await eventually(
            lambda: [c for c in slack.api.of("chat.postMessage") if c.params["text"] == UNAVAILABLE][1:]
        )
        await settle()
        print(
            f"\nredis down: acked in {acked_after * 1000:.0f} ms, employee told in {told_after * 1000:.0f} ms"
        )
    finally:
        await slack.http.aclose()
        await container.close()


async def test_worker_down_answers_wait_in_the_queue_until_a_worker_runs_them(
    settings: Settings, slack_api: FakeSlackAPI, tmp_path: Path
) -> None:
    from workers.runner import CeleryTaskRunner

    settings = slack_settings(settings, slack_api, tmp_path)
    slack, container = await open_harness(settings, slack_api, runner=CeleryTaskRunner(settings))
    broker = aioredis.Redis.from_url(settings.redis_url or "", decode_responses=True)
    queue = f"{settings.redis_prefix}.tasks"
    try:
        event = slack.dm("How do I reset my password?")
        assert (await slack.event(event)).status_code == 200
        raw = await eventually_async(lambda: broker.lrange(queue, 0, -1))
        await settle()
        assert slack.api.of("chat.postMessage") == []  # answered and stored, but nobody delivers it yet
        history = await container.store.history(f"slack-T1-{event['channel']}-{event['ts']}")
        assert [e.message.sender.role.value for e in history] == ["customer", "bot"]

        for message in reversed(raw):  # the worker comes back: it runs the queued job
            task = json.loads(message)
            args, _, _ = json.loads(base64.b64decode(task["body"]))
            assert task["headers"]["task"] == "supportbot.deliver"
            await container.delivery.deliver(args[0])
        [answer] = slack.thread_posts(event["channel"], event["ts"])
        assert "Settings" in answer["text"]
    finally:
        await broker.delete(queue)
        await broker.aclose()
        await slack.http.aclose()
        await container.close()


async def eventually_async(probe, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await settle(timeout)


async def test_redis_down_agent_click_is_told_nothing_happened(
    settings: Settings, slack_api: FakeSlackAPI, tmp_path: Path
) -> None:
    from connectors.slack.desk import ActionRef
    from tests.connectors.slack.conftest import AGENT

    settings.redis_url = "redis://127.0.0.1:1/0"
    slack, container = await open_harness(slack_settings(settings, slack_api, tmp_path), slack_api)
    try:
        post = {
            "ts": "1800000001.000001",
            "blocks": [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "claim",
                            "text": {"type": "plain_text", "text": "Claim"},
                            "value": ActionRef("slack-T1-DUEMMA-1.1", "h1").dumps(),
                        }
                    ],
                }
            ],
        }
        assert (await slack.click("claim", post)).status_code == 200
        [notice] = await eventually(lambda: slack.api.of("chat.postEphemeral", user=AGENT))
        assert "backend is unavailable" in notice.params["text"]
        await settle()
    finally:
        await slack.http.aclose()
        await container.close()
