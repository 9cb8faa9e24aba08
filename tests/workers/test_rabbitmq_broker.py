"""RabbitMQ as Celery's broker (Celery's own AMQP transport): real worker processes against the RabbitMQ
server on 127.0.0.1:5672 (scripts/services starts it), the store on the tests' Redis. An escalation is queued
once and becomes one handoff; a worker killed in the middle of the task leaves the message unacknowledged,
RabbitMQ delivers it again, and the handoff is still opened exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection

from service.settings import Settings
from tests.waiting import wait_for
from tests.workers.test_celery_handoff import Webhook, escalate_once, open_handoff_ids, start_worker, stop
from workers.celery_app import make_celery

pytestmark = pytest.mark.slow

AMQP_URL = os.environ.get("SUPPORTBOT_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.fixture
def amqp_settings(settings: Settings) -> Iterator[Settings]:
    """The tests' settings with RabbitMQ as broker; the prefix-named queue is deleted afterwards."""
    with Connection(AMQP_URL, connect_timeout=5) as connection:
        connection.ensure_connection(max_retries=1)  # RabbitMQ must answer: scripts/services starts it
    yield settings.model_copy(update={"broker_url": AMQP_URL})
    with Connection(AMQP_URL) as connection:
        connection.default_channel.queue_delete(f"{settings.redis_prefix}.tasks")


@pytest.fixture
def amqp_env(amqp_settings: Settings) -> dict[str, str]:
    return {**os.environ, "SUPPORTBOT_REDIS_URL": amqp_settings.redis_url or "",
            "SUPPORTBOT_BROKER_URL": AMQP_URL, "SUPPORTBOT_REDIS_PREFIX": amqp_settings.redis_prefix,
            "SUPPORTBOT_DATA_DIR": str(amqp_settings.data_dir), "SUPPORTBOT_AGENT_TOKEN": "x",
            "SUPPORTBOT_REMINDER_SECONDS": "600"}


def queued(queue: str) -> list[str]:
    """The task names of the messages ready in the queue, left in place (read unacknowledged, then the
    channel closes and the broker requeues them)."""
    names = []
    with Connection(AMQP_URL) as connection:
        channel = connection.channel()
        channel.basic_qos(0, 1000, False)
        while (message := channel.basic_get(queue, no_ack=False)) is not None:
            names.append(str(message.headers.get("task")))
        channel.close()
    return names


def queue_facts(queue: str) -> dict[str, str]:
    """The queue as the broker holds it: durable and type, from rabbitmqctl."""
    listed = subprocess.run(["rabbitmqctl", "-q", "list_queues", "name", "durable", "type"], capture_output=True,
                            text=True, timeout=60, check=True).stdout
    for line in listed.splitlines():
        fields = line.split()
        if fields and fields[0] == queue:
            return {"durable": fields[1], "type": fields[2]}
    raise AssertionError(f"{queue} is not on the broker:\n{listed}")


def test_the_amqp_app_leaves_the_redis_transport_alone(amqp_settings: Settings) -> None:
    """Celery's own AMQP transport with publisher confirms; none of the Redis transport's options."""
    app = make_celery(amqp_settings)
    assert app.conf.broker_transport in (None, "amqp", "pyamqp")
    options = app.conf.broker_transport_options
    assert options.get("confirm_publish") is True
    assert not {"visibility_timeout", "unacked_restore_interval", "unacked_restore_throttle"} & set(options)
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.task_default_queue == f"{amqp_settings.redis_prefix}.tasks"


async def test_an_escalation_is_queued_once_on_rabbitmq_and_opens_one_handoff(
        amqp_settings: Settings, amqp_env: dict[str, str], tmp_path: Path) -> None:
    queue = f"{amqp_settings.redis_prefix}.tasks"
    conversation_id, handoff_id = await escalate_once(amqp_settings)  # no worker yet: the job waits in the queue
    assert queued(queue) == ["supportbot.open_handoff"]
    assert queue_facts(queue)["durable"] == "true"  # a RabbitMQ restart keeps queued escalations
    hook = Webhook()
    amqp_env["SUPPORTBOT_NOTIFY_WEBHOOK_URL"] = hook.url
    log = tmp_path / "worker.log"
    worker = start_worker(amqp_env, log)
    try:
        wait_for(lambda: len(hook.calls) >= 1, 60, "agents to be notified by the worker")
        assert open_handoff_ids(amqp_settings.redis_url or "", amqp_settings.redis_prefix) == [handoff_id]
        wait_for(lambda: "succeeded" in log.read_text(errors="replace"), 30, "the task to finish")
    finally:
        stop(worker)
        hook.close()
    assert len(hook.calls) == 1, log.read_text()
    assert "supportbot.open_handoff" not in queued(queue)  # done and acknowledged (a reminder may wait)


async def test_a_worker_killed_mid_task_on_rabbitmq_still_yields_exactly_one_handoff(
        amqp_settings: Settings, amqp_env: dict[str, str], tmp_path: Path) -> None:
    hook = Webhook(hang_first=30)
    amqp_env["SUPPORTBOT_NOTIFY_WEBHOOK_URL"] = hook.url
    log = tmp_path / "worker.log"
    first = start_worker(amqp_env, log)
    second = None
    try:
        conversation_id, handoff_id = await escalate_once(amqp_settings)
        wait_for(lambda: len(hook.calls) >= 1, 60, "the task to reach the agents' webhook")
        stop(first, signal.SIGKILL)  # in flight and not acknowledged: RabbitMQ requeues it when the link drops
        second = start_worker(amqp_env, log)
        wait_for(lambda: len(hook.calls) >= 2, 60, "the redelivered task to run again")
        assert open_handoff_ids(amqp_settings.redis_url or "", amqp_settings.redis_prefix) == [handoff_id]
        wait_for(lambda: log.read_text(errors="replace").count("succeeded") >= 1, 30, "the task to finish")
        assert "supportbot.open_handoff" not in queued(f"{amqp_settings.redis_prefix}.tasks")
    finally:
        stop(first, signal.SIGKILL)
        if second is not None:
            stop(second)
        hook.close()
    assert len(hook.calls) == 2, log.read_text()
