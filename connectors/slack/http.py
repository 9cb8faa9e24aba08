"""HTTP mode: events, interactivity and slash commands all arrive at one URL, verified by Bolt."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp

EVENTS_PATH = "/slack/events"


def slack_router(app: AsyncApp, path: str = EVENTS_PATH) -> APIRouter:
    """Bolt checks the signing secret and the 5-minute timestamp window: forged or stale requests get 401."""
    handler = AsyncSlackRequestHandler(app)
    router = APIRouter()

    @router.post(path, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    return router
