"""A turn's span encloses its stages' spans, however late the tracer reads the clock after the turn ends."""

from __future__ import annotations

from time import time_ns

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bot.observer import in_turn
from service import tracing


def test_the_turn_span_starts_no_later_than_its_first_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    observer = tracing.TracingObserver(provider.get_tracer("test"))
    started = time_ns()
    # the turn took 2 ms by its own clock, and the tracer reads the wall clock 7 ms after it began (its thread
    # waited for the GIL in between): "now - 2 ms" falls after the first block began
    monkeypatch.setattr(tracing, "time_ns", lambda: started + 7_000_000)
    with in_turn("a" * 32, "conversation"):
        observer.interval("store", started, started + 1_000_000)
        observer.turn("web", "answered", 0.002)
    spans = {span.name: span for span in exporter.get_finished_spans()}
    turn, store = spans["supportbot.turn"], spans["supportbot.store"]
    assert turn.start_time is not None and store.start_time is not None
    assert turn.start_time <= store.start_time <= (store.end_time or 0) <= (turn.end_time or 0)
