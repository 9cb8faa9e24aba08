"""create_app(settings) -> the one ASGI app: widget API, agent console, health."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import WebSocketRequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.ceiling import Ceiling
from bot.errors import (
    AlreadyClaimed,
    AlreadyRated,
    ConversationNotFound,
    HandoffNotFound,
    InvalidMessage,
    InvalidTransition,
)
from bot.gates import GateConfig
from connectors.console.accounts import AccountRole, Accounts
from connectors.console.admin import admin_router
from connectors.console.analytics import analytics_router
from connectors.console.auth import ConsoleAuth
from connectors.console.canned import CannedResponses, canned_router
from connectors.console.files import files_router
from connectors.console.router import console_page_router, console_router
from connectors.ratelimit import RateLimits
from connectors.webchat.files import webchat_files_router
from connectors.webchat.origins import OriginGuard
from connectors.webchat.router import webchat_router
from service.actions import build_identity_verifier, demo_sign_in
from service.container import Container, build_container
from service.embedded_redis import stop_embedded_server
from service.heap import settle_heap
from service.metrics import REDIS_ERRORS, CountLiveSockets, CountRedisErrors, exposition
from service.openapi import allow_every_method_of_the_path, publish_whole_schema
from service.preview import preview_router
from service.privacy import CustomerRecords
from service.settings import Settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_REQUEST_HEAD_BYTES = 32 * 1024
# uvicorn's options for every serving process. h11 refuses a request head past MAX_REQUEST_HEAD_BYTES with 400;
# httptools (uvicorn's choice when installed) keeps reading a head of any size. No uvicorn option bounds how long
# a head may take to arrive (timeout_keep_alive runs only between requests), so a client trickling header bytes
# keeps its connection open: exposed beyond loopback, run behind a proxy that times requests out (HAProxy's
# `timeout http-request`, config/haproxy.cfg).
SERVER_OPTIONS: dict[str, Any] = {"http": "h11", "h11_max_incomplete_event_size": MAX_REQUEST_HEAD_BYTES,
                                  "timeout_keep_alive": 5}
UPLOADS = r"/api(/agent)?/conversations/[^/]+/attachments"


class BodyLimit:
    """Refuse oversized request bodies with 413 before anything reads them. `larger` names the paths (by
    pattern) that take more than `max_bytes`: file uploads, mail from a provider's webhook."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES,
                 larger: Sequence[tuple[str, int]] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = [(re.compile(pattern), limit) for pattern, limit in larger]

    def limit_for(self, path: str) -> int:
        return next((limit for pattern, limit in self.larger if pattern.fullmatch(path)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope.get("path", ""))
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            response = JSONResponse({"detail": f"request body larger than {max_bytes} bytes"}, 413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            response = JSONResponse({"detail": f"request body larger than {max_bytes} bytes"}, 413)
            await response(scope, receive, send)


class _TooLarge(Exception):
    pass


_STATUS = {ConversationNotFound: 404, HandoffNotFound: 404, AlreadyClaimed: 409, AlreadyRated: 409,
           InvalidTransition: 409, InvalidMessage: 400}


class SecurityHeaders:
    """Every HTTP response says: no MIME sniffing, and no full address as referrer to other sites (the
    console page adds its own CSP with frame-ancestors)."""

    HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"strict-origin-when-cross-origin")]

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + self.HEADERS}
            await send(message)

        await self.app(scope, receive, with_headers)


async def warmed(container: Container, serving_process: bool) -> None:
    """Load what the first turn would; then, in a process that exists to serve, tune its garbage collector
    for that heap (service/heap.py)."""
    await container.warm_up()
    if serving_process:
        settle_heap()


def create_app(settings: Settings, container: Container | None = None, *, serving_process: bool = False) -> FastAPI:
    """`serving_process`: the app is what this process is for (`supportbot serve`, a uvicorn worker), not one
    of many apps a test or a tool builds in its own process."""
    container = container or build_container(settings)

    accounts = Accounts(container.redis, settings.redis_prefix)
    secure = settings.secure_cookies if settings.secure_cookies is not None \
        else settings.public_url.startswith("https://")
    limits = RateLimits.from_settings(settings, container.redis if settings.redis_url else None)
    auth = ConsoleAuth(accounts, settings.agent_token, limits, secure_cookie=secure)

    async def gates() -> GateConfig:
        return await container.dialogue.responder.current_gates()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # work turns hand off the loop (a categorizer of unknown cost, a reload after an ingest) must not
        # queue behind the default pool's few threads (cores + 4) when many turns arrive together
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(settings.turn_threads, thread_name_prefix="turn"))
        if settings.admin_password and await accounts.get("admin") is None:
            await accounts.add("admin", settings.admin_password, AccountRole.ADMIN, settings.admin_display_name)
        if settings.demo_history:
            from service.demo import seed_history

            await seed_history(container, accounts)
        warm_up = asyncio.create_task(warmed(container, serving_process))  # the first customer should not wait for it
        yield
        warm_up.cancel()
        await container.close()
        if serving_process:
            stop_embedded_server()

    app = FastAPI(title="supportbot", lifespan=lifespan, docs_url="/docs" if settings.api_docs else None,
                  redoc_url=None, openapi_url="/openapi.json" if settings.api_docs else None)
    app.add_middleware(SecurityHeaders)
    publish_whole_schema(app)
    allow_every_method_of_the_path(app)
    app.state.container = container
    for error, status in _STATUS.items():
        app.add_exception_handler(error, _handler(status))
    # Only an unreachable store is worth a retry; any other Redis error is a bug, answered 500 and logged.
    app.add_exception_handler(RedisConnectionError, _store_unavailable)
    app.add_exception_handler(RedisTimeoutError, _store_unavailable)
    app.add_exception_handler(WebSocketRequestValidationError, _refuse_handshake)
    app.include_router(webchat_router(container.dialogue, max_message_chars=settings.max_message_chars,
                                      limits=limits, files=container.attachments,
                                      files_per_message=settings.attachments_per_message,
                                      sockets_per_address=settings.live_sockets_per_address,
                                      identities=build_identity_verifier(settings),
                                      demo_sign_in=demo_sign_in(settings)))
    app.include_router(webchat_files_router(container.store, container.attachments, limits,
                                            max_bytes=settings.attachment_max_bytes, ledger=container.uploads))
    app.include_router(auth.router())
    app.include_router(preview_router(container.dialogue, auth))  # `supportbot ask --url --preview`
    app.include_router(console_router(container.desk, auth, gates, container.attachments,
                                      files_per_message=settings.attachments_per_message))
    app.include_router(files_router(container.attachments, container.store, auth,
                                    max_bytes=settings.attachment_max_bytes, ledger=container.uploads))
    app.include_router(admin_router(auth, gates, container.phase_overrides,
                                    CustomerRecords(container.redis, settings.redis_prefix,
                                                    files=container.attachments)))
    app.include_router(analytics_router(auth, container.journal, gates,
                                        default_window_hours=settings.resolution_window_hours,
                                        calibration=container.dialogue.responder.calibration,
                                        ceiling=Ceiling(alpha=settings.ceiling_alpha, delta=settings.ceiling_delta),
                                        edited=settings.ceiling_edited, ceiling_applies=settings.ceiling_apply,
                                        model_budget=_budget_status(container)))
    app.include_router(canned_router(auth, CannedResponses(container.redis, settings.redis_prefix)))
    app.include_router(console_page_router())
    if settings.email_webhook_password and "email" in container.delivery.channels:
        from connectors.email.intake import MailIntake
        from connectors.email.webhooks import webhook_router

        app.include_router(webhook_router(MailIntake(container), username=settings.email_webhook_username,
                                          password=settings.email_webhook_password,
                                          max_bytes=settings.email_max_bytes))
    if settings.slack_mount:
        from connectors.slack.app import build_slack_app
        from connectors.slack.http import slack_router

        app.include_router(slack_router(build_slack_app(container, settings)))
    if settings.allowed_origins:
        app.add_middleware(OriginGuard, allowed=settings.allowed_origins, public_url=settings.public_url)
        app.add_middleware(CORSMiddleware, allow_origins=settings.allowed_origins,
                           allow_methods=["GET", "POST"], allow_headers=["Content-Type", "X-Conversation-Token"])
    # an upload over the limit is answered by its route (413, with CORS headers the widget can read)
    app.add_middleware(BodyLimit, larger=[(UPLOADS, settings.attachment_max_bytes + MAX_BODY_BYTES),
                                          (r"/email/inbound/.*", settings.email_max_bytes * 2)])
    app.add_middleware(CountLiveSockets)
    app.add_middleware(CountRedisErrors)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/demo")

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        await container.redis.ping()
        return {"status": "ok", "mode": "embedded" if settings.embedded else "redis"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus text format; with SUPPORTBOT_METRICS_TOKEN set, only for `Authorization: Bearer` it."""
        if settings.metrics_token and not secrets.compare_digest(
                request.headers.get("authorization", ""), f"Bearer {settings.metrics_token}"):
            return JSONResponse({"detail": "metrics need the metrics token"}, status_code=401)
        body = await exposition(container.queue, container.redis, settings.redis_prefix)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return app


def _budget_status(container: Container) -> Callable[[], Awaitable[dict[str, Any]]] | None:
    """The month's model spending for the console's analytics, where language models are configured."""
    budget = container.extras.get("model_budget")
    return budget.status if budget is not None else None


async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """Redis down: a retryable 503 (the widget keeps the message and sends it again), never a bare 500."""
    REDIS_ERRORS.labels(error=type(exc).__name__).inc()
    log.error("conversation store unavailable: %s", exc)
    return JSONResponse({"detail": "the conversation store is unavailable; retry shortly"}, status_code=503,
                        headers={"Retry-After": "5"})


async def _refuse_handshake(websocket: WebSocket, exc: Exception) -> None:
    """Bad query parameters on a WebSocket get the same 422 and error list as on HTTP, as the handshake's
    answer (where the server can send one; otherwise a policy-violation close carrying the errors)."""
    errors = jsonable_encoder(exc.errors()) if isinstance(exc, WebSocketRequestValidationError) else str(exc)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse({"detail": errors}, status_code=422))
    else:
        await websocket.close(code=1008, reason=str(errors)[:120])


def _handler(status: int):  # type: ignore[no-untyped-def]
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return handle


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` and multi-process serving: each process reads the same settings."""
    from service.settings import load_settings

    return create_app(load_settings(), serving_process=True)
