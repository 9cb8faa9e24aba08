"""Prometheus metrics: the core's observer, live sockets and Redis errors of this process, and at each
scrape the deployment-wide figures kept in Redis (handoff queue, worker task failures).

Per-process series (turns, stages, handoff events, sockets, Redis errors) are summed across API processes;
the scrape-time series describe the whole deployment, so every process reports the same value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.observer import HandoffEvent, Stage
from bot.ports import AnsweringContext
from bot.store import HandoffQueue
from bot.types import HandoffStatus, ModelCall, now

# sub-millisecond stages (categorize, gate) and multi-second turns (a hosted model composing) both show
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

TURN_STAGE_SECONDS = Histogram("supportbot_turn_stage_seconds", "Time of one stage of a bot turn",
                               ["stage"], buckets=BUCKETS)
TURN_SECONDS = Histogram("supportbot_turn_seconds", "Time of a bot turn, lock wait included, by outcome",
                         ["channel", "decision"], buckets=BUCKETS)
HANDOFFS = Counter("supportbot_handoffs", "Handoffs opened by turns, claimed by agents, resolved", ["event"])
LIVE_SOCKETS = Gauge("supportbot_live_sockets", "WebSockets open on this process")
REDIS_ERRORS = Counter("supportbot_redis_errors", "Requests (and scrapes) that failed on a Redis error",
                       ["error"])

MODEL_CALLS = Counter("supportbot_model_calls", "Calls to language models, by model and outcome (ok, no_answer, "
                      "withdrawn, error, timeout, malformed)", ["model", "outcome"])
MODEL_TOKENS = Counter("supportbot_model_tokens", "Tokens language models read (input) and wrote (output)",
                       ["model", "direction"])
MODEL_COST = Counter("supportbot_model_cost", "What language model calls cost, in the configured prices' "
                     "currency", ["model", "channel"])
MODEL_SECONDS = Histogram("supportbot_model_call_seconds", "Time of one language model call", ["model"],
                          buckets=BUCKETS)

ACTION_CALLS = Counter("supportbot_action_calls", "Calls of actions to the company's systems, by action and "
                       "result (ok, not_found, failed, refused)", ["action", "status"])
ACTION_SECONDS = Histogram("supportbot_action_call_seconds", "Time of one action call", ["action"],
                           buckets=BUCKETS)
ACTIONS_RATE_LIMITED = Counter("supportbot_action_calls_rate_limited", "Action calls not made: the "
                               "conversation was over its limit of action calls", ["action"])

for _stage in ("categorize", "retrieve", "compose", "gate", "store"):
    TURN_STAGE_SECONDS.labels(stage=_stage)
for _event in ("opened", "claimed", "resolved"):
    HANDOFFS.labels(event=_event)


class PrometheusObserver:
    """The core's `Observer`, recorded in this process's prometheus-client registry."""

    def stage(self, stage: Stage, seconds: float) -> None:
        TURN_STAGE_SECONDS.labels(stage=stage).observe(seconds)

    def turn(self, channel: str, decision: str, seconds: float) -> None:
        TURN_SECONDS.labels(channel=channel, decision=decision).observe(seconds)

    def handoff(self, event: HandoffEvent) -> None:
        HANDOFFS.labels(event=event).inc()

    def interval(self, stage: Stage, started_ns: int, ended_ns: int) -> None:
        pass  # the stage's sum per turn is what the histogram counts


def record_model_call(call: ModelCall, context: AnsweringContext) -> None:
    """A model call's counters (the answer chain's `on_call`)."""
    MODEL_CALLS.labels(model=call.model, outcome=call.outcome).inc()
    MODEL_TOKENS.labels(model=call.model, direction="input").inc(call.input_tokens)
    MODEL_TOKENS.labels(model=call.model, direction="output").inc(call.output_tokens)
    MODEL_COST.labels(model=call.model, channel=context.channel or "none").inc(call.cost)
    MODEL_SECONDS.labels(model=call.model).observe(call.seconds)


def record_action_call(action: str, status: str, seconds: float) -> None:
    """One action call's counters (service/actions.py's runner)."""
    ACTION_CALLS.labels(action=action, status=status).inc()
    ACTION_SECONDS.labels(action=action).observe(seconds)


def task_failures_key(prefix: str) -> str:
    """Redis hash of task name -> count, written by every worker (`workers/signals.py`)."""
    return f"{prefix}:metrics:task_failures"


def task_retries_key(prefix: str) -> str:
    return f"{prefix}:metrics:task_retries"


class _Families:
    """A collector that yields metric families computed before the scrape (collect() cannot await)."""

    def __init__(self, families: Iterable[Any]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Any]:
        return self.families


async def deployment_families(queue: HandoffQueue, redis: Redis, prefix: str) -> list[Any]:
    """Queue depth and oldest wait per agent queue, and worker task failures, read from Redis now."""
    waiting: dict[str, list[float]] = {}
    for handoff in await queue.open_handoffs():
        if handoff.status is HandoffStatus.QUEUED:
            waiting.setdefault(handoff.queue, []).append(handoff.created_at)
    depth = GaugeMetricFamily("supportbot_handoff_queue_depth", "Handoffs waiting for an agent", labels=["queue"])
    oldest = GaugeMetricFamily("supportbot_handoff_oldest_wait_seconds",
                               "How long the oldest unclaimed handoff has waited", labels=["queue"])
    at = now()
    for name, created in sorted(waiting.items()):
        depth.add_metric([name], len(created))
        oldest.add_metric([name], max(0.0, at - min(created)))
    families: list[Any] = [depth, oldest]
    for key, name, doc in ((task_failures_key(prefix), "supportbot_task_failures", "Worker tasks that failed "
                            "for good (retries exhausted), all workers"),
                           (task_retries_key(prefix), "supportbot_task_retries", "Worker task attempts that "
                            "raised and were retried, all workers")):
        counter = CounterMetricFamily(name, doc, labels=["task"])
        for task, count in sorted((await redis.hgetall(key)).items()):  # type: ignore[misc]
            counter.add_metric([_text(task)], float(count))
        families.append(counter)
    return families


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def exposition(queue: HandoffQueue, redis: Redis, prefix: str) -> bytes:
    """The text a scrape of /metrics gets: this process's metrics, then the deployment's. With Redis down
    the scrape still answers (that is when it matters), with `supportbot_redis_up 0`."""
    up = GaugeMetricFamily("supportbot_redis_up", "1 when this scrape could read the deployment's figures "
                                                  "from Redis")
    try:
        families = await deployment_families(queue, redis, prefix)
        up.add_metric([], 1)
    except RedisError as error:
        REDIS_ERRORS.labels(error=type(error).__name__).inc()
        families = []
        up.add_metric([], 0)
    scraped = CollectorRegistry(auto_describe=False)
    collector: Collector = _Families([up, *families])  # type: ignore[assignment]
    scraped.register(collector)
    return generate_latest(REGISTRY) + generate_latest(scraped)


class CountLiveSockets:
    """ASGI middleware: a WebSocket counts from its accept until its handler returns."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        accepted = False

        async def counting(message: Message) -> None:
            nonlocal accepted
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                LIVE_SOCKETS.inc()
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            if accepted:
                LIVE_SOCKETS.dec()


class CountRedisErrors:
    """ASGI middleware: a Redis error no handler answered (a bug, not an outage) is counted on its way to the
    500; outages are counted by the handler that answers 503."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except RedisError as error:
            REDIS_ERRORS.labels(error=type(error).__name__).inc()
            raise
