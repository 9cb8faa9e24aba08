"""A circuit breaker per host: after repeated failures calls fail at once for a while, so an unhealthy API
turns into quick handoffs instead of customers waiting on timeouts, and the API gets room to recover."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _State:
    failures: int = 0
    opened_at: float | None = None
    trial: bool = False


class CircuitBreaker:
    """`threshold` consecutive failures open a host's circuit for `cooldown` seconds; then one trial call
    is let through, which closes it on success or opens it again on failure."""

    def __init__(self, threshold: int = 5, cooldown: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self._hosts: dict[str, _State] = {}

    def allow(self, host: str) -> bool:
        state = self._hosts.setdefault(host, _State())
        if state.opened_at is None:
            return True
        if self.clock() - state.opened_at < self.cooldown or state.trial:
            return False
        state.trial = True
        return True

    def is_open(self, host: str) -> bool:
        state = self._hosts.get(host)
        return state is not None and state.opened_at is not None

    def success(self, host: str) -> None:
        self._hosts[host] = _State()

    def failure(self, host: str) -> None:
        state = self._hosts.setdefault(host, _State())
        state.failures += 1
        if state.trial or state.failures >= self.threshold:
            state.opened_at, state.trial = self.clock(), False
