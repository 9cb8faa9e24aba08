"""create_app(settings) -> the one ASGI app: widget API, agent console, health."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.errors import AlreadyClaimed, ConversationNotFound, HandoffNotFound, InvalidMessage, InvalidTransition
from connectors.console.router import console_page_router, console_router
from connectors.webchat.router import webchat_router
from service.container import Container, build_container
from service.settings import Settings

MAX_BODY_BYTES = 64 * 1024


class BodyLimit:
    """Refuse oversized request bodies with 413 before anything reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            response = JSONResponse({"detail": f"request body larger than {self.max_bytes} bytes"}, 413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> dict:  # type: ignore[type-arg]
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            response = JSONResponse({"detail": f"request body larger than {self.max_bytes} bytes"}, 413)
            await response(scope, receive, send)


class _TooLarge(Exception):
    pass


_STATUS = {ConversationNotFound: 404, HandoffNotFound: 404, AlreadyClaimed: 409, InvalidTransition: 409,
           InvalidMessage: 400}


def create_app(settings: Settings, container: Container | None = None) -> FastAPI:
    container = container or build_container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await container.close()

    app = FastAPI(title="supportbot", lifespan=lifespan)
    app.state.container = container
    for error, status in _STATUS.items():
        app.add_exception_handler(error, _handler(status))
    app.include_router(webchat_router(container.dialogue, max_message_chars=settings.max_message_chars))
    app.include_router(console_router(container.desk, agent_token=settings.agent_token))
    app.include_router(console_page_router())
    if settings.slack_mount:
        from connectors.slack.app import build_slack_app
        from connectors.slack.http import slack_router

        app.include_router(slack_router(build_slack_app(container, settings)))
    if settings.allowed_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.allowed_origins,
                           allow_methods=["GET", "POST"], allow_headers=["Content-Type", "X-Conversation-Token"])
    app.add_middleware(BodyLimit)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/demo")

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        await container.redis.ping()
        return {"status": "ok", "mode": "embedded" if settings.embedded else "redis"}

    return app


def _handler(status: int):  # type: ignore[no-untyped-def]
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return handle
