"""What counting a request costs the embedded server: its event loop serves every turn, so a check must not
send work to threads or walk every counted visitor."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import HTTPException

from connectors.ratelimit import RateLimits
from service.settings import Settings


async def test_checks_hop_to_no_thread_however_many_visitors_are_counted(settings: Settings,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    limits = RateLimits.from_settings(settings.model_copy(update={"redis_url": None}))
    hops = 0
    real_to_thread = asyncio.to_thread

    async def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal hops
        hops += 1
        return await real_to_thread(*args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    for visitor in range(200):
        await limits.check("messages_per_conversation", f"conversation-{visitor}")
        await asyncio.sleep(0)  # let any housekeeping the check scheduled run
    for _ in range(20):
        await asyncio.sleep(0)
    assert hops == 0


@pytest.mark.parametrize("embedded", [True, False], ids=["in memory", "in Redis"])
async def test_the_limit_still_holds_per_key(settings: Settings, embedded: bool) -> None:
    update: dict[str, object] = {"rate_limits": {"messages_per_conversation": "4/minute"}}
    if embedded:
        update["redis_url"] = None
    limits = RateLimits.from_settings(settings.model_copy(update=update))
    for _ in range(4):
        await limits.check("messages_per_conversation", "ada")
    with pytest.raises(HTTPException) as refused:
        await limits.check("messages_per_conversation", "ada")
    assert refused.value.status_code == 429 and 1 <= int(refused.value.headers["Retry-After"]) <= 60
    await limits.check("messages_per_conversation", "grace")  # another conversation is not held back
