"""Slow or retried work goes behind a runner: inline in one process, Celery in production."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

Job = Callable[[dict[str, Any]], Awaitable[None]]


class TaskRunner(Protocol):
    def start(self, name: str, payload: dict[str, Any], *, countdown: float = 0) -> None:
        """Run the job called `name` with a JSON payload, soon or after `countdown` seconds."""
        ...


class InlineTaskRunner:
    """Runs jobs as asyncio tasks of the current process (the embedded, nothing-to-install mode)."""

    def __init__(self, jobs: dict[str, Job] | None = None) -> None:
        self.jobs: dict[str, Job] = dict(jobs or {})
        self._tasks: set[asyncio.Task[None]] = set()
        self._due: set[asyncio.Task[None]] = set()

    def register(self, name: str, job: Job) -> None:
        self.jobs[name] = job

    def start(self, name: str, payload: dict[str, Any], *, countdown: float = 0) -> None:
        job = self.jobs[name]

        async def run() -> None:
            if countdown:
                await asyncio.sleep(countdown)
            try:
                await job(payload)
            except Exception:
                log.exception("job %s failed", name)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if not countdown:
            self._due.add(task)
            task.add_done_callback(self._due.discard)

    async def drain(self) -> None:
        """Wait for the jobs due now, and for those they start in turn (tests and shutdown)."""
        while self._due:
            await asyncio.gather(*list(self._due))

    def cancel_all(self) -> None:
        for task in self._tasks:
            task.cancel()
