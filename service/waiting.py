"""The expected wait a customer is told when a person takes over: open handoffs ahead of them, times the
minutes an agent takes per handoff.

Counting reads the whole open queue, and every escalated turn asks; with a long queue that read was most
of the turn. The count is kept per category for half a minute: a wait said in minutes does not move
with a handoff more or less in the meantime.
"""

from __future__ import annotations

import time

from bot.store import HandoffQueue


class ExpectedWait:
    def __init__(self, queue: HandoffQueue, minutes_per_handoff: float, *, fresh_seconds: float = 30.0) -> None:
        self.queue = queue
        self.minutes_per_handoff = minutes_per_handoff
        self.fresh_seconds = fresh_seconds
        self._counted: dict[str, tuple[float, int]] = {}  # category -> (when counted, open handoffs)

    async def __call__(self, category: str) -> int | None:
        if not self.minutes_per_handoff:
            return None
        counted = self._counted.get(category)
        if counted is None or time.monotonic() - counted[0] >= self.fresh_seconds:
            counted = (time.monotonic(), len(await self.queue.open_handoffs(category)))
            self._counted[category] = counted
        return max(1, round((counted[1] + 1) * self.minutes_per_handoff))
