"""A real `supportbot serve` and `supportbot worker` write JSON lines that follow one turn from the API into
the worker, never show what the customer wrote or a token (uvicorn's WebSocket line included), and the
server's /metrics counts the turn, the handoff and the worker's failed and retried tasks.

No documents are ingested (it would take most of the test's time): the question escalates, which is the
turn that reaches the worker. Answered turns' lines are checked in test_logs.py."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from service.settings import Settings
from tests.browser.stack import spawn, stop
from tests.net import free_port, wait_healthy
from tests.waiting import wait_for
from workers.celery_app import make_celery

pytestmark = pytest.mark.slow

AGENT_TOKEN = "observability-agent-token"
ESCALATED = "Can you recommend a good lasagna recipe?"


class Running:
    def __init__(self, base: str, logs: dict[str, Path], env: dict[str, str]) -> None:
        self.base, self.logs, self.env = base, logs, env

    def lines(self, name: str) -> list[dict[str, Any]]:
        """Every line the process wrote, each parsed as JSON (a line that is not JSON fails the test)."""
        out = []
        for line in self.logs[name].read_text(errors="replace").splitlines():
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    raise AssertionError(f"{name} wrote a line that is not JSON: {line!r}") from None
        return out

    def text(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in self.logs.values())


@pytest.fixture
def running(tmp_path: Path, redis_url: str) -> Iterator[Running]:
    prefix = f"to{uuid.uuid4().hex[:10]}"
    port = free_port()
    env = {**os.environ, "SUPPORTBOT_REDIS_URL": redis_url, "SUPPORTBOT_REDIS_PREFIX": prefix,
           "SUPPORTBOT_DATA_DIR": str(tmp_path / "data"), "SUPPORTBOT_AGENT_TOKEN": AGENT_TOKEN,
           "SUPPORTBOT_LOG_FORMAT": "json", "SUPPORTBOT_REMINDER_SECONDS": "600",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    logs = {name: tmp_path / f"{name}.log" for name in ("worker", "server")}
    processes = [spawn(["worker", "--concurrency", "1", "--loglevel", "info"], env, logs["worker"])]
    try:
        processes.append(spawn(["serve", "--port", str(port)], env, logs["server"]))
        wait_healthy(f"http://127.0.0.1:{port}/healthz", processes, timeout=180, log=logs["server"])
        yield Running(f"http://127.0.0.1:{port}", logs, env)
    finally:
        for process in processes:
            stop(process)
        client = redis.Redis.from_url(redis_url)
        for pattern in (f"{prefix}*", f"_kombu.binding.{prefix}*"):
            if keys := list(client.scan_iter(match=pattern, count=500)):
                client.delete(*keys)


def scrape(base: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(f"{base}/metrics").raise_for_status().text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_one_turn_is_followed_from_the_api_into_the_worker_without_text_or_tokens(running: Running) -> None:
    api = httpx.Client(base_url=running.base, timeout=60)
    created = api.post("/api/conversations").raise_for_status().json()
    cid, token = created["conversation_id"], created["token"]
    headers = {"X-Conversation-Token": token}
    live = running.base.replace("http://", "ws://") + f"/api/conversations/{cid}/live?token={token}"
    with connect(live, open_timeout=10):
        escalated = api.post(f"/api/conversations/{cid}/messages", json={"text": ESCALATED}, headers=headers)
    assert escalated.raise_for_status().json()["decision"] == "escalated"

    # tasks that fail for good (a payload the task cannot take) and that are retried (a payload it rejects)
    settings = Settings(redis_url=running.env["SUPPORTBOT_REDIS_URL"],
                        redis_prefix=running.env["SUPPORTBOT_REDIS_PREFIX"], _env_file=None)  # type: ignore[call-arg]
    celery = make_celery(settings)
    celery.send_task("supportbot.sweep", args=[{"unexpected": 1}])
    celery.send_task("supportbot.deliver", args=[{"message": {}}])

    def worker_done() -> list[dict[str, Any]]:
        return [line for line in running.lines("worker") if line.get("job") == "open_handoff"]

    opened = wait_for(worker_done, timeout=60, what="the worker's open_handoff line")[0]
    [turn] = [line for line in running.lines("server") if line.get("decision")]
    assert (turn["decision"], turn["channel"], turn["conversation_id"]) == ("escalated", "web", cid)
    assert turn["turn_id"] and opened["turn_id"] == turn["turn_id"]  # the worker continues the turn
    assert opened["conversation_id"] == cid

    def counted() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
        samples = scrape(running.base)
        failed = samples.get(("supportbot_task_failures_total", frozenset({("task", "supportbot.sweep")})))
        retried = samples.get(("supportbot_task_retries_total", frozenset({("task", "supportbot.deliver")})))
        return samples if failed == 1 and retried and retried >= 1 else None

    samples = wait_for(counted, timeout=30, what="the worker's failed and retried tasks in /metrics")
    assert samples[("supportbot_turn_seconds_count", frozenset({("channel", "web"), ("decision", "escalated")}))] == 1
    assert samples[("supportbot_handoffs_total", frozenset({("event", "opened")}))] == 1
    assert samples[("supportbot_handoff_queue_depth", frozenset({("queue", "general")}))] == 1

    everything = running.text()
    for secret in (token, AGENT_TOKEN, ESCALATED, "lasagna"):
        assert secret not in everything, secret
    sockets = [line["message"] for line in running.lines("server") if "WebSocket" in line.get("message", "")]
    assert sockets and all("token=[redacted]" in message for message in sockets), sockets
