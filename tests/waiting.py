"""Polling until something true shows up: real servers, workers and background jobs answer a little later."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], timeout: float = 5.0, what: str = "condition") -> T:
    """The first truthy `probe()` result, polled from a plain (thread-blocking) test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def eventually(probe: Callable[[], T | Awaitable[T]], timeout: float = 10.0) -> T:
    """The first truthy `probe()` result (awaited when it is a coroutine), polled without blocking the loop
    the app under test runs its background work on."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)
