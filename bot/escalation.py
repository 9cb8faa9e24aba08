"""The jobs behind a handoff: queue it once, tell the agents, remind them while nobody claims it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from bot.runner import TaskRunner
from bot.store import HandoffQueue
from bot.types import Handoff, HandoffStatus, now

log = logging.getLogger(__name__)


class AgentNotifier(Protocol):
    async def handoff_opened(self, handoff: Handoff) -> None: ...

    async def handoff_unclaimed(self, handoff: Handoff) -> None: ...


class EscalationJobs:
    """Safe to run twice: the handoff id is stable, `queue.open` creates it only once, and a reminder is
    counted atomically before it is sent."""

    def __init__(self, queue: HandoffQueue, runner: TaskRunner, notifiers: list[AgentNotifier] | None = None,
                 reminder_seconds: float = 300.0, max_reminders: int = 3,
                 sla_seconds: Callable[[str], float | None] | None = None) -> None:
        self.queue = queue
        self.runner = runner
        self.notifiers = list(notifiers or [])
        self.reminder_seconds = reminder_seconds
        self.max_reminders = max_reminders
        self.sla_seconds = sla_seconds or (lambda category: None)

    def _countdown(self, category: str) -> float:
        """A category's SLA when it has one, else the deployment's reminder interval."""
        return self.sla_seconds(category) or self.reminder_seconds

    async def open_handoff(self, payload: dict[str, Any]) -> None:
        handoff = Handoff.model_validate(payload["handoff"])
        current = await self.queue.get(handoff.id)  # the turn opened it; a job of an earlier version did not
        if current is None:
            await self.queue.open(handoff)
            current = await self.queue.get(handoff.id) or handoff
        if current.status is not HandoffStatus.QUEUED:
            return
        await self.queue.notify({"type": "handoff", "handoff_id": handoff.id,
                                 "conversation_id": handoff.conversation_id, "category": handoff.category})
        for notifier in self.notifiers:
            await notifier.handoff_opened(current)
        self.runner.start("remind_handoff", {"handoff_id": handoff.id, "n": 1},
                          countdown=self._countdown(handoff.category))

    async def remind_handoff(self, payload: dict[str, Any]) -> None:
        """Once per reminder number, however many copies of this job run (a redelivered task, the sweep)."""
        n = int(payload.get("n", 1))
        handoff = await self.queue.remind(payload["handoff_id"], n)
        if handoff is None:  # claimed, resolved, gone, or this reminder was already sent
            return
        try:
            log.warning("handoff %s unclaimed for %.0f s", handoff.id, now() - handoff.created_at)
            await self.queue.notify({"type": "reminder", "handoff_id": handoff.id, "n": n,
                                     "waited_seconds": round(now() - handoff.created_at, 1)})
            for notifier in self.notifiers:
                await notifier.handoff_unclaimed(handoff)
        except Exception:
            await self.queue.unremind(handoff.id, n)  # the retried job sends it
            raise
        if n < self.max_reminders:
            self.runner.start("remind_handoff", {"handoff_id": handoff.id, "n": n + 1},
                              countdown=self._countdown(handoff.category))

    async def sweep(self, payload: dict[str, Any]) -> None:
        """Periodic safety net: remind for any queued handoff past its SLA whose countdown was lost."""
        for handoff in await self.queue.open_handoffs():
            due = handoff.created_at + self._countdown(handoff.category) * (handoff.reminders + 1)
            if handoff.status is HandoffStatus.QUEUED and now() >= due and handoff.reminders < self.max_reminders:
                await self.remind_handoff({"handoff_id": handoff.id, "n": handoff.reminders + 1})
