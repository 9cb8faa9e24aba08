"""A real `supportbot serve` and `supportbot worker` write JSON lines that follow one turn from the API into
the worker, never show what the customer wrote or a token (uvicorn's WebSocket line included), the
server's /metrics counts the turn, the handoff and the worker's failed and retried tasks, and with a
collector configured the server sends each turn's trace there (OTLP over HTTP, to a local stand-in).

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
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from service.settings import Settings
from tests.browser.stack import spawn, stop
from tests.net import QuietHandler, free_port, serve_in_background, wait_healthy
from tests.waiting import wait_for
from workers.celery_app import make_celery

pytestmark = pytest.mark.slow

AGENT_TOKEN = "observability-agent-token"
ESCALATED = "Can you recommend a good lasagna recipe?"
SHORT = "my pin is 9313"  # short enough to be shown whole where a long text would be cut


class Collector:
    """An OpenTelemetry collector's OTLP/HTTP traces endpoint: keeps every export request it receives."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        collector = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.path == "/v1/traces":
                    collector.bodies.append(body)
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("content-type", "application/x-protobuf")
                self.end_headers()
                self.wfile.write(ExportTraceServiceResponse().SerializeToString())

        self.server = serve_in_background(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[Any]:
        out = []
        for body in self.bodies:
            request = ExportTraceServiceRequest.FromString(body)
            out += [span for resource in request.resource_spans for scope in resource.scope_spans
                    for span in scope.spans]
        return out


class Running:
    def __init__(self, base: str, logs: dict[str, Path], env: dict[str, str], collector: Collector) -> None:
        self.base, self.logs, self.env, self.collector = base, logs, env, collector

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
    collector = Collector()
    server_env = {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    logs = {name: tmp_path / f"{name}.log" for name in ("worker", "server")}
    processes = [spawn(["worker", "--concurrency", "1", "--loglevel", "info"], env, logs["worker"])]
    try:
        processes.append(spawn(["serve", "--port", str(port)], server_env, logs["server"]))
        wait_healthy(f"http://127.0.0.1:{port}/healthz", processes, timeout=180, log=logs["server"])
        yield Running(f"http://127.0.0.1:{port}", logs, env, collector)
    finally:
        for process in processes:
            stop(process)
        collector.server.shutdown()
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

    # tasks that fail for good (a payload the task cannot take) and that are retried (a payload it rejects,
    # whose validation error must not bring the customer's words into the log)
    settings = Settings(redis_url=running.env["SUPPORTBOT_REDIS_URL"],
                        redis_prefix=running.env["SUPPORTBOT_REDIS_PREFIX"], _env_file=None)  # type: ignore[call-arg]
    celery = make_celery(settings)
    celery.send_task("supportbot.sweep", args=[{"unexpected": 1}])
    celery.send_task("supportbot.deliver", args=[{"message": {"text": SHORT}}])

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
    for secret in (token, AGENT_TOKEN, ESCALATED, "lasagna", SHORT, "9313"):
        assert secret not in everything, secret
    sockets = [line["message"] for line in running.lines("server") if "WebSocket" in line.get("message", "")]
    assert sockets and all("token=[redacted]" in message for message in sockets), sockets


def test_each_turn_is_a_trace_with_its_stages_under_the_turn_id(running: Running) -> None:
    api = httpx.Client(base_url=running.base, timeout=60)
    created = api.post("/api/conversations").raise_for_status().json()
    headers = {"X-Conversation-Token": created["token"]}
    api.post(f"/api/conversations/{created['conversation_id']}/messages", json={"text": ESCALATED},
             headers=headers).raise_for_status()
    [turn_line] = wait_for(lambda: [line for line in running.lines("server") if line.get("decision")],
                           what="the turn's log line")

    def traced() -> list[Any]:
        spans = running.collector.spans()
        return spans if any(span.name == "supportbot.turn" for span in spans) else []

    spans = wait_for(traced, timeout=30, what="the turn's trace at the collector")
    [turn] = [span for span in spans if span.name == "supportbot.turn"]
    assert turn.trace_id.hex() == turn_line["turn_id"]  # found from the log line
    attributes = {a.key: a.value.string_value for a in turn.attributes}
    assert attributes == {"supportbot.turn_id": turn_line["turn_id"],
                          "supportbot.conversation_id": created["conversation_id"],
                          "supportbot.channel": "web", "supportbot.decision": "escalated"}
    stages = [span for span in spans if span.parent_span_id == turn.span_id]
    assert {span.name for span in stages} >= {"supportbot.categorize", "supportbot.retrieve", "supportbot.gate",
                                              "supportbot.store"}
    assert all(span.trace_id == turn.trace_id for span in stages)
    assert all(turn.start_time_unix_nano <= span.start_time_unix_nano <= span.end_time_unix_nano
               <= turn.end_time_unix_nano for span in stages)
    assert not any(b"lasagna" in body or created["token"].encode() in body for body in running.collector.bodies)
