"""Forward a store subscription to a WebSocket until the client goes away."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from bot.store import Subscription

Send = Callable[[dict[str, Any]], Awaitable[None]]


async def relay(websocket: WebSocket, subscription: Subscription, send: Send) -> None:
    """The subscription is closed whichever side ends first."""
    receiver = asyncio.ensure_future(_read_until_closed(websocket))
    try:
        while not receiver.done():
            event = await subscription.get(timeout=1.0)
            if event is not None:
                await send(event)
    except WebSocketDisconnect:
        pass
    finally:
        receiver.cancel()
        await subscription.close()


async def _read_until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a closed socket is noticed."""
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        return
