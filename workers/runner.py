"""TaskRunner that hands jobs to Celery by name; the caller never imports the tasks module."""

from __future__ import annotations

from typing import Any

from service.settings import Settings


class CeleryTaskRunner:
    def __init__(self, settings: Settings) -> None:
        from workers.celery_app import make_celery

        self.app = make_celery(settings)

    def start(self, name: str, payload: dict[str, Any], *, countdown: float = 0) -> None:
        from workers.signals import turn_headers

        self.app.send_task(f"supportbot.{name}", args=[payload], countdown=countdown or None,
                           headers=turn_headers())
