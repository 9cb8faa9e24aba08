"""A real worker process keeps working through a restart of its Redis, and gives up with a non-zero exit
code (for its supervisor to restart it) when Redis stays away."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from service.settings import Settings
from tests.net import RedisServer
from tests.waiting import wait_for
from tests.workers.test_celery_handoff import Webhook, escalate_once, start_worker, stop

pytestmark = pytest.mark.slow


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path) as server:
        yield server


def worker_env(server: RedisServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "SUPPORTBOT_REDIS_URL": server.url, "SUPPORTBOT_REDIS_PREFIX": "restart",
            "SUPPORTBOT_DATA_DIR": str(tmp_path), "SUPPORTBOT_AGENT_TOKEN": "x", **extra}


def alive(worker: subprocess.Popen[bytes], log: Path, probe: Callable[[], object]) -> Callable[[], object]:
    """`probe`, failing at once with the worker's log when the worker has exited."""

    def check() -> object:
        assert worker.poll() is None, f"worker exited with {worker.returncode}:\n{log.read_text(errors='replace')}"
        return probe()

    return check


def calls(hook: Webhook, kind: str) -> list[dict[str, str]]:
    return [body for raw in list(hook.calls) if (body := json.loads(raw))["kind"] == kind]


async def test_worker_holding_a_reminder_survives_a_redis_restart(own_redis: RedisServer, tmp_path: Path) -> None:
    hook = Webhook()
    log = tmp_path / "worker.log"
    # the reminder waits in the worker (an ETA task, reserved and unacknowledged) while Redis restarts
    env = worker_env(own_redis, tmp_path, SUPPORTBOT_NOTIFY_WEBHOOK_URL=hook.url, SUPPORTBOT_REMINDER_SECONDS="20",
                     SUPPORTBOT_MAX_REMINDERS="1", SUPPORTBOT_TASK_VISIBILITY_TIMEOUT="5")
    settings = Settings(redis_url=own_redis.url, redis_prefix="restart", data_dir=tmp_path, agent_token="x",
                        _env_file=None)  # type: ignore[call-arg]
    worker = start_worker(env, log)
    try:
        _, first = await escalate_once(settings)
        wait_for(lambda: calls(hook, "opened"), 60, "the first handoff's notification")
        wait_for(lambda: "remind_handoff" in log.read_text(errors="replace"), 30, "the reminder to be reserved")
        own_redis.restart()
        _, second = await escalate_once(settings)
        wait_for(alive(worker, log, lambda: any(c["handoff_id"] == second for c in calls(hook, "opened"))), 90,
                 "the worker to take a task sent after the restart")
        wait_for(alive(worker, log, lambda: calls(hook, "reminder")), 90, "the reminder held through the restart")
        assert worker.poll() is None, log.read_text(errors="replace")
    finally:
        stop(worker)
        hook.close()
    assert "Unrecoverable error" not in log.read_text(errors="replace")
    assert [c["handoff_id"] for c in calls(hook, "reminder")] == [first]


def test_worker_exits_non_zero_when_redis_stays_away(own_redis: RedisServer, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(own_redis, tmp_path, SUPPORTBOT_BROKER_RETRIES="2"), log)
    try:
        wait_for(lambda: "ready" in log.read_text(errors="replace"), 60, "the worker to start")
        own_redis.stop()
        code = worker.wait(timeout=120)
    except subprocess.TimeoutExpired as error:
        stop(worker, signal.SIGKILL)
        raise AssertionError("the worker kept running without its broker:\n" + log.read_text(errors="replace")
                             ) from error
    assert code != 0, log.read_text(errors="replace")
