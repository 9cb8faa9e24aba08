"""The Celery application and its configuration, nothing else."""

from __future__ import annotations

from celery import Celery

from service.settings import Settings, load_settings


def make_celery(settings: Settings) -> Celery:
    app = Celery("supportbot", broker=settings.celery_broker or "memory://", include=["workers.tasks"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,  # a task lost with its worker is delivered again ...
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": settings.task_visibility_timeout},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


app = make_celery(load_settings())
