"""OpenTelemetry traces of bot turns, only when a collector is configured (OTEL_EXPORTER_OTLP_ENDPOINT) and
the SDK is installed (`pip install supportbot[otel]`); otherwise nothing here is imported or run.

One trace per turn, whose trace id is the turn id of the log lines, with a span per stage block. Spans carry
ids, channel and decision, never what anyone wrote.
"""

from __future__ import annotations

import logging
import os
import random
from collections import OrderedDict
from time import time_ns
from typing import Any

from bot.observer import CONVERSATION_ID, TURN_ID, HandoffEvent, Observer, Stage

log = logging.getLogger(__name__)

PENDING_TURNS = 1000  # turns whose stages wait for their end; a turn that raised never ends, so keep a bound


def tracing_observer() -> Observer | None:
    """The tracing observer when a collector is configured and the SDK is installed, else None."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") and not os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return None
    global _OBSERVER
    if _OBSERVER is None:
        try:
            _OBSERVER = TracingObserver(_tracer())
        except ImportError:
            log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK is not installed "
                        "(pip install supportbot[otel]); no traces")
            return None
    return _OBSERVER


_OBSERVER: TracingObserver | None = None  # one exporter per process, shared by every container


def _tracer() -> Any:
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.id_generator import IdGenerator

    exporter: Any
    if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as exporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as exporter

    class TurnTraceIds(IdGenerator):
        """A turn's trace id is its turn id (32 hex digits), so a trace is found from a log line."""

        def generate_span_id(self) -> int:
            return random.getrandbits(64) or 1

        def generate_trace_id(self) -> int:
            turn = TURN_ID.get()
            return int(turn, 16) if turn and len(turn) == 32 else random.getrandbits(128) or 1

    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", "supportbot")})
    provider = TracerProvider(resource=resource, id_generator=TurnTraceIds())
    provider.add_span_processor(BatchSpanProcessor(exporter()))
    return provider.get_tracer("supportbot")


class TracingObserver:
    """Stage blocks wait, by turn id, for their turn to end; then the turn span and its children go out."""

    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer
        self.pending: OrderedDict[str, list[tuple[Stage, int, int]]] = OrderedDict()

    def stage(self, stage: Stage, seconds: float) -> None:
        pass

    def interval(self, stage: Stage, started_ns: int, ended_ns: int) -> None:
        if turn := TURN_ID.get():
            self.pending.setdefault(turn, []).append((stage, started_ns, ended_ns))
            while len(self.pending) > PENDING_TURNS:
                self.pending.popitem(last=False)

    def turn(self, channel: str, decision: str, seconds: float) -> None:
        from opentelemetry import trace

        turn_id = TURN_ID.get() or ""
        blocks = self.pending.pop(turn_id, [])
        ended = time_ns()
        # the turn's duration comes from another clock than its blocks' wall times, and this thread may have
        # waited for the GIL between the two readings: the turn's span still encloses every block's
        started = min([ended - int(seconds * 1e9), *(block_start for _, block_start, _ in blocks)])
        ended = max([ended, *(block_end for _, _, block_end in blocks)])
        span = self.tracer.start_span("supportbot.turn", start_time=started, attributes={
            "supportbot.turn_id": turn_id, "supportbot.conversation_id": CONVERSATION_ID.get() or "",
            "supportbot.channel": channel, "supportbot.decision": decision})
        inside = trace.set_span_in_context(span)
        for stage, started_ns, ended_ns in blocks:
            self.tracer.start_span(f"supportbot.{stage}", context=inside, start_time=started_ns,
                                   attributes={"supportbot.stage": stage}).end(end_time=ended_ns)
        span.end(end_time=ended)

    def handoff(self, event: HandoffEvent) -> None:
        pass
