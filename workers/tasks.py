"""Thin Celery tasks: JSON in, build from the composition root, call the core, done."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from service.container import build_container
from service.settings import load_settings
from workers import signals  # noqa: F401  (connects the worker's logging, turn ids and failure counts)
from workers.celery_app import app
from workers.runner import CeleryTaskRunner

log = logging.getLogger(__name__)


async def _run(job: str, payload: dict[str, Any]) -> None:
    settings = load_settings()
    container = build_container(settings, runner=CeleryTaskRunner(settings))
    jobs = {"open_handoff": container.escalation.open_handoff,
            "remind_handoff": container.escalation.remind_handoff,
            "deliver": container.delivery.deliver,
            "sweep": container.escalation.sweep}
    try:
        await jobs[job](payload)
    finally:
        await container.close()


def run_job(job: str, payload: dict[str, Any]) -> None:
    """One event loop per task: the worker's processes stay simple and a crashed task loses no state."""
    started = time.perf_counter()
    asyncio.run(_run(job, payload))
    seconds = time.perf_counter() - started
    log.info("job %s done in %.3f s", job, seconds, extra={"job": job, "seconds": round(seconds, 4)})


@app.task(name="supportbot.open_handoff", autoretry_for=(Exception,), retry_backoff=True, max_retries=8)
def open_handoff(payload: dict[str, Any]) -> None:
    run_job("open_handoff", payload)


@app.task(name="supportbot.remind_handoff", autoretry_for=(Exception,), retry_backoff=True, max_retries=8)
def remind_handoff(payload: dict[str, Any]) -> None:
    run_job("remind_handoff", payload)


@app.task(name="supportbot.deliver", autoretry_for=(Exception,), retry_backoff=True, max_retries=8)
def deliver(payload: dict[str, Any]) -> None:
    run_job("deliver", payload)


@app.task(name="supportbot.sweep")
def sweep() -> None:
    run_job("sweep", {})
