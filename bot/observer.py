"""What the core tells the outside about its work (stage timings, turns, handoffs), without knowing who listens.

The core stays free of metrics libraries: `service/metrics.py` implements `Observer` with prometheus-client.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from time import perf_counter
from typing import Literal, Protocol

Stage = Literal["categorize", "retrieve", "compose", "gate", "store"]
HandoffEvent = Literal["opened", "claimed", "resolved"]


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


class Unobserved:
    """The default: nobody listens."""

    def stage(self, stage: Stage, seconds: float) -> None:
        pass

    def turn(self, channel: str, decision: str, seconds: float) -> None:
        pass

    def handoff(self, event: HandoffEvent) -> None:
        pass


class StageTimes:
    """The time of each stage of one turn, summed over the blocks of that stage and reported once per turn,
    so a histogram's count is the number of turns that ran the stage."""

    def __init__(self) -> None:
        self.seconds: dict[Stage, float] = {}

    @contextmanager
    def __call__(self, stage: Stage) -> Iterator[None]:
        """Add the time spent in the block to `stage`, also when it raises."""
        started = perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + perf_counter() - started

    def report(self, observer: Observer) -> None:
        for stage, seconds in self.seconds.items():
            observer.stage(stage, seconds)
