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
TRY_AGAIN_LATER = 1013  # RFC 6455: refused for now; the client may retry after a while


class SocketsPerAddress:
    """Open live sockets per client address in this process. Each holds a listener, its queue and a task; a cap
    keeps one address from holding them all (the rate limit counts connects, not sockets held open)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def take(self, address: str) -> bool:
        """A place for one more socket from `address`, or False when it holds `limit` already."""
        held = self._open.get(address, 0)
        if held >= self.limit:
            return False
        self._open[address] = held + 1
        return True

    def release(self, address: str) -> None:
        held = self._open.get(address, 0) - 1
        if held > 0:
            self._open[address] = held
        else:
            self._open.pop(address, None)


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
