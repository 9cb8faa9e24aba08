"""`supportbot slack`: the Slack connector alone, over HTTP (uvicorn) or Socket Mode with an app token."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from connectors.slack.app import build_slack_app
from connectors.slack.http import EVENTS_PATH, slack_router
from connectors.slack.socket import run_socket_mode

if TYPE_CHECKING:
    from service.container import Container
    from service.settings import Settings

log = logging.getLogger(__name__)


def create_http_app(settings: "Settings", container: "Container | None" = None) -> FastAPI:
    """Only the Slack endpoint and a health check; `supportbot serve` can mount the same router instead."""
    from service.container import build_container

    container = container or build_container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await container.close()

    app = FastAPI(title="supportbot-slack", lifespan=lifespan)
    app.state.container = container
    app.include_router(slack_router(build_slack_app(container, settings)))

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        await container.redis.ping()
        return {"status": "ok"}

    return app


async def serve_socket_mode(settings: "Settings") -> None:
    from service.container import build_container

    assert settings.slack_app_token
    container = build_container(settings)
    try:
        await run_socket_mode(
            build_slack_app(container, settings, socket_mode=True), settings.slack_app_token
        )
    finally:
        await container.close()


def run(settings: "Settings") -> int:
    """Socket Mode when SUPPORTBOT_SLACK_APP_TOKEN is set, else an HTTP server on settings.host:port."""
    if not settings.slack_bot_token:
        raise SystemExit("supportbot: SUPPORTBOT_SLACK_BOT_TOKEN is required")
    if settings.slack_app_token:
        print("supportbot: Slack connector in Socket Mode", flush=True)
        asyncio.run(serve_socket_mode(settings))
        return 0
    if not settings.slack_signing_secret:
        raise SystemExit(
            "supportbot: HTTP mode needs SUPPORTBOT_SLACK_SIGNING_SECRET (or set SUPPORTBOT_SLACK_APP_TOKEN)"
        )
    import uvicorn

    print(f"supportbot: Slack request URL http://{settings.host}:{settings.port}{EVENTS_PATH}", flush=True)
    uvicorn.run(create_http_app(settings), host=settings.host, port=settings.port)
    return 0


main = run
