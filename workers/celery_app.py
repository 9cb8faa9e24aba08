"""The Celery application and its configuration, nothing else."""

from __future__ import annotations

from celery import Celery

from service.settings import Settings, load_settings


def make_celery(settings: Settings) -> Celery:
    broker = settings.celery_broker or "memory://"
    app = Celery("supportbot", broker=broker, include=["workers.tasks"])
    if broker.startswith(("redis://", "rediss://")):  # survives a Redis restart (see workers/broker.py)
        app.conf.broker_transport = "workers.broker:Transport"
    app.conf.update(
        task_default_queue=f"{settings.redis_prefix}.tasks",  # deployments sharing a Redis stay apart
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,  # a task lost with its worker is delivered again ...
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # ... once its visibility timeout passes; sweep for such tasks often enough to notice
        broker_transport_options={"visibility_timeout": settings.task_visibility_timeout,
                                  "unacked_restore_interval": min(10, settings.task_visibility_timeout),
                                  "unacked_restore_throttle": 1},
        broker_connection_retry_on_startup=True,
        # a broker gone for good ends the worker (exit code 1) instead of leaving it retrying unseen
        broker_connection_max_retries=settings.broker_retries,
        worker_hijack_root_logger=False,
        beat_schedule={"sweep-unclaimed-handoffs": {"task": "supportbot.sweep", "schedule": 60.0}},
    )
    return app


app = make_celery(load_settings())
