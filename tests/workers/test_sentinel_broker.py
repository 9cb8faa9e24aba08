"""A real worker on a Sentinel broker (kombu's `sentinel://` transport, built from SUPPORTBOT_REDIS_URL) keeps
working through a failover: the primary killed (-9) while the worker holds a reminder, the replica promoted,
the reminder delivered once and a handoff sent after the failover opened once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.settings import Settings
from tests.redis_ha import SentinelGroup
from tests.waiting import wait_for
from tests.workers.test_celery_handoff import Webhook, escalate_once, start_worker, stop
from tests.workers.test_redis_restart import alive, calls

pytestmark = pytest.mark.slow


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelGroup]:
    group = SentinelGroup(tmp_path / "redis")
    try:
        yield group
    finally:
        group.stop()


async def test_worker_follows_the_sentinels_to_the_promoted_replica(sentinels: SentinelGroup,
                                                                    tmp_path: Path) -> None:
    hook = Webhook()
    log = tmp_path / "worker.log"
    env = {**os.environ, "SUPPORTBOT_REDIS_URL": sentinels.url, "SUPPORTBOT_REDIS_PREFIX": "ha",
           "SUPPORTBOT_DATA_DIR": str(tmp_path), "SUPPORTBOT_AGENT_TOKEN": "x",
           "SUPPORTBOT_NOTIFY_WEBHOOK_URL": hook.url, "SUPPORTBOT_REMINDER_SECONDS": "15",
           "SUPPORTBOT_MAX_REMINDERS": "1", "SUPPORTBOT_TASK_VISIBILITY_TIMEOUT": "5"}
    settings = Settings(redis_url=sentinels.url, redis_prefix="ha", data_dir=tmp_path, agent_token="x",
                        _env_file=None)  # type: ignore[call-arg]
    worker = start_worker(env, log)
    try:
        _, first = await escalate_once(settings)
        wait_for(alive(worker, log, lambda: calls(hook, "opened")), 60, "the first handoff's notification")
        wait_for(lambda: "remind_handoff" in log.read_text(errors="replace"), 30, "the reminder to be reserved")
        sentinels.primary.kill()
        sentinels.wait_promoted()
        _, second = await escalate_once(settings)
        wait_for(alive(worker, log, lambda: any(c["handoff_id"] == second for c in calls(hook, "opened"))), 90,
                 "the worker to take a task sent after the failover")
        wait_for(alive(worker, log, lambda: calls(hook, "reminder")), 90, "the reminder held through the failover")
        assert worker.poll() is None, log.read_text(errors="replace")
    finally:
        stop(worker)
        hook.close()
    assert "Unrecoverable error" not in log.read_text(errors="replace")
    assert sorted(c["handoff_id"] for c in calls(hook, "opened")) == sorted([first, second])
    assert [c["handoff_id"] for c in calls(hook, "reminder")] == [first]
