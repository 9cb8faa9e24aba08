"""A store that fails for a moment: one call of one method raises, like Redis dropping a connection."""

from __future__ import annotations

from typing import Any


def fail_once(target: object, method: str) -> None:
    """The next call of `target.method` raises ConnectionError; the calls after it work."""
    original = getattr(target, method)
    left = [1]

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        if left:
            left.pop()
            raise ConnectionError("store unavailable")
        return await original(*args, **kwargs)

    setattr(target, method, flaky)
