"""In the Compose set-up /metrics needs the metrics token: the proxy keeps it off the public port, and an API
process reached on the compose network answers only Prometheus, which sends the token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from service.asgi import create_app
from service.container import build_container
from service.settings import Settings
from tests.topology.compose import MissingVariable, load

SHELL = {"SUPPORTBOT_AGENT_TOKEN": "token", "SUPPORTBOT_ADMIN_PASSWORD": "admin-password",
         "SUPPORTBOT_METRICS_TOKEN": "scrape-secret"}


def test_compose_stops_without_a_metrics_token() -> None:
    without = {k: v for k, v in SHELL.items() if k != "SUPPORTBOT_METRICS_TOKEN"}
    for shell in (without, {**without, "SUPPORTBOT_METRICS_TOKEN": ""}):
        with pytest.raises(MissingVariable, match="SUPPORTBOT_METRICS_TOKEN"):
            load(shell)


def test_the_api_processes_answer_metrics_only_with_the_token(settings: Settings) -> None:
    api = load(SHELL)["api"]
    assert api.environment.get("SUPPORTBOT_METRICS_TOKEN") == "scrape-secret"
    composed = settings.model_copy(update={"metrics_token": api.environment["SUPPORTBOT_METRICS_TOKEN"]})
    container = build_container(composed, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                answerer=FirstSentenceAnswerer())
    with TestClient(create_app(composed, container)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer guess"}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200
