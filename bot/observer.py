"""What the core tells the outside about its work (stage timings, turns, handoffs), without knowing who listens.

The core stays free of metrics libraries: `service/metrics.py` implements `Observer` with prometheus-client.
The turn being handled is a context variable, so log lines, and jobs the turn starts in other processes,
carry its id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from time import perf_counter, time_ns
from typing import Literal, Protocol

Stage = Literal["categorize", "retrieve", "compose", "gate", "store"]
HandoffEvent = Literal["opened", "claimed", "resolved"]

TURN_ID: ContextVar[str | None] = ContextVar("supportbot_turn_id", default=None)
CONVERSATION_ID: ContextVar[str | None] = ContextVar("supportbot_conversation_id", default=None)


@contextmanager
def in_turn(turn_id: str | None, conversation_id: str | None) -> Iterator[None]:
    """Mark what runs inside as part of one turn (a worker continues the turn that started its job)."""
    turn, conversation = TURN_ID.set(turn_id), CONVERSATION_ID.set(conversation_id)
    try:
        yield
    finally:
        TURN_ID.reset(turn)
        CONVERSATION_ID.reset(conversation)


class Observer(Protocol):
    """Called inline on every turn: implementations must be cheap and must not raise."""

    def stage(self, stage: Stage, seconds: float) -> None:
        """One stage of a bot turn took `seconds` (a stage a turn skips is not reported)."""
        ...

    def turn(self, channel: str, decision: str, seconds: float) -> None:
        """A bot turn ended with `decision` after `seconds`, lock wait included."""
        ...

    def handoff(self, event: HandoffEvent) -> None:
        """A handoff was opened by a turn, claimed by an agent, or resolved."""
        ...

    def interval(self, stage: Stage, started_ns: int, ended_ns: int) -> None:
        """One block of a stage, in wall-clock nanoseconds (for traces); reported before the turn ends."""
        ...


class Unobserved:
    """The default: nobody listens."""

    def stage(self, stage: Stage, seconds: float) -> None:
        pass

    def turn(self, channel: str, decision: str, seconds: float) -> None:
        pass

    def handoff(self, event: HandoffEvent) -> None:
        pass

    def interval(self, stage: Stage, started_ns: int, ended_ns: int) -> None:
        pass


class FanOut:
    """Several observers as one (metrics and logs)."""

    def __init__(self, *observers: Observer) -> None:
        self.observers = observers

    def stage(self, stage: Stage, seconds: float) -> None:
        for observer in self.observers:
            observer.stage(stage, seconds)

    def turn(self, channel: str, decision: str, seconds: float) -> None:
        for observer in self.observers:
            observer.turn(channel, decision, seconds)

    def handoff(self, event: HandoffEvent) -> None:
        for observer in self.observers:
            observer.handoff(event)

    def interval(self, stage: Stage, started_ns: int, ended_ns: int) -> None:
        for observer in self.observers:
            observer.interval(stage, started_ns, ended_ns)


class StageTimes:
    """The time of each stage of one turn, summed over the blocks of that stage and reported once per turn,
    so a histogram's count is the number of turns that ran the stage."""

    def __init__(self) -> None:
        self.seconds: dict[Stage, float] = {}
        self.blocks: list[tuple[Stage, int, int]] = []

    @contextmanager
    def __call__(self, stage: Stage) -> Iterator[None]:
        """Add the time spent in the block to `stage`, also when it raises."""
        started, started_ns = perf_counter(), time_ns()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + perf_counter() - started
            self.blocks.append((stage, started_ns, time_ns()))

    def report(self, observer: Observer) -> None:
        for stage, seconds in self.seconds.items():
            observer.stage(stage, seconds)
        for stage, started_ns, ended_ns in self.blocks:
            observer.interval(stage, started_ns, ended_ns)
