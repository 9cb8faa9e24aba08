"""Forward a store subscription to a WebSocket until the client goes away."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from bot.errors import SubscriptionEnded
from bot.store import Subscription

Send = Callable[[dict[str, Any]], Awaitable[None]]

SERVICE_RESTART = 1012  # RFC 6455: the client reconnects, and catches up from its last entry


async def relay(websocket: WebSocket, subscription: Subscription, send: Send) -> None:
    """Until the client leaves or the subscription ends; the caller closes the subscription."""
    receiver = asyncio.ensure_future(_read_until_closed(websocket))
    try:
        while not receiver.done():
            event = await subscription.get(timeout=1.0)
            if event is not None:
                await send(event)
    except SubscriptionEnded:
        with contextlib.suppress(Exception):  # the client may have left meanwhile
            await websocket.close(code=SERVICE_RESTART)
    except WebSocketDisconnect:
        pass
    finally:
        receiver.cancel()


async def _read_until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a closed socket is noticed."""
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        return
