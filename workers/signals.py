"""The worker's side of observability: its logs configured like the API's, each task in the turn that
started it, and task failures and retries counted in Redis, where every API process exposes them."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import redis
from celery import signals

from bot.observer import CONVERSATION_ID, TURN_ID
from service.logs import configure_logging
from service.metrics import task_failures_key, task_retries_key
from service.redis_clients import build_sync_redis
from service.settings import load_settings

log = logging.getLogger(__name__)

TURN_HEADER, CONVERSATION_HEADER = "supportbot_turn_id", "supportbot_conversation_id"


def turn_headers() -> dict[str, str]:
    """Celery message headers that carry the current turn to the task it starts."""
    headers = {TURN_HEADER: TURN_ID.get(), CONVERSATION_HEADER: CONVERSATION_ID.get()}
    return {name: value for name, value in headers.items() if value}


@signals.setup_logging.connect
def _configure_logging(loglevel: int | str | None = None, **_: Any) -> None:
    """Connected, so Celery leaves logging to us: the same lines (JSON or text) as the API."""
    level = logging.getLevelName(loglevel) if isinstance(loglevel, int) else (loglevel or "INFO")
    configure_logging(load_settings().log_format, str(level))


@signals.task_prerun.connect
def _enter_turn(task: Any = None, **_: Any) -> None:
    """Each task runs in the turn that started it (none for periodic ones); set for every task, so one
    task's ids never linger into the next."""
    request = task.request if task is not None else None
    TURN_ID.set(getattr(request, TURN_HEADER, None))
    CONVERSATION_ID.set(getattr(request, CONVERSATION_HEADER, None))


@lru_cache(maxsize=1)
def _counters() -> tuple[Any, str]:
    settings = load_settings()
    client = build_sync_redis(settings.redis_url, socket_connect_timeout=5) if settings.redis_url else None
    return client, settings.redis_prefix


def _count(key: str, task: str) -> None:
    client, _ = _counters()
    if client is None:
        return
    try:
        client.hincrby(key, task, 1)
    except redis.RedisError:
        log.warning("could not count task %s in %s", task, key, exc_info=True)


@signals.task_failure.connect
def _count_failure(sender: Any = None, **_: Any) -> None:
    """A task that failed for good: retries exhausted, or none allowed."""
    _count(task_failures_key(_counters()[1]), getattr(sender, "name", "unknown"))


@signals.task_retry.connect
def _count_retry(sender: Any = None, **_: Any) -> None:
    _count(task_retries_key(_counters()[1]), getattr(sender, "name", "unknown"))
