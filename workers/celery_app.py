"""The Celery application and its configuration, nothing else."""

from __future__ import annotations

from typing import Any

from celery import Celery

from service.redis_clients import celery_broker
from service.settings import Settings, load_settings


def redelivery_options(broker: str, settings: Settings) -> dict[str, Any]:
    """The transport options by which a task taken by a worker that died runs again, per kind of broker."""
    if broker.startswith(("amqp://", "amqps://", "pyamqp://")):
        # RabbitMQ requeues an unacknowledged message as soon as its worker's connection drops; publishing
        # waits for the broker's confirm, so an accepted escalation is on the (durable) queue
        return {"confirm_publish": True}
    if broker.startswith(("redis://", "rediss://", "sentinel://")):
        # Redis has no such notion: a task taken but not acknowledged comes back once its visibility timeout
        # passes; sweep for such tasks often enough to notice
        return {"visibility_timeout": settings.task_visibility_timeout,
                "unacked_restore_interval": min(10, settings.task_visibility_timeout),
                "unacked_restore_throttle": 1}
    return {}


def make_celery(settings: Settings) -> Celery:
    broker, sentinel_options = celery_broker(settings)  # a cluster as broker stops here, saying what to use
    app = Celery("supportbot", broker=broker, include=["workers.tasks"])
    if broker.startswith(("redis://", "rediss://")):  # survives a Redis restart (see workers/broker.py)
        app.conf.broker_transport = "workers.broker:Transport"
    elif broker.startswith("sentinel://"):  # the same, and follows the sentinels to a promoted replica
        app.conf.broker_transport = "workers.broker:SentinelTransport"
    app.conf.update(
        task_default_queue=f"{settings.redis_prefix}.tasks",  # deployments sharing a Redis stay apart
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,  # a task lost with its worker is delivered again (see redelivery_options)
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={**redelivery_options(broker, settings), **sentinel_options},
        broker_connection_retry_on_startup=True,
        # a broker gone for good ends the worker (exit code 1) instead of leaving it retrying unseen
        broker_connection_max_retries=settings.broker_retries,
        worker_hijack_root_logger=False,
        beat_schedule={"sweep-unclaimed-handoffs": {"task": "supportbot.sweep", "schedule": 60.0}},
    )
    return app


app = make_celery(load_settings())
