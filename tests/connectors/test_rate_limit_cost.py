"""What counting a request costs the embedded server: its event loop serves every turn, so a check must not
send work to threads or walk every counted visitor."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import HTTPException

from connectors.ratelimit import RateLimits, SweptMemoryStorage
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


async def test_counted_keys_are_swept_once_a_second_not_after_every_hit(settings: Settings,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    limits = RateLimits.from_settings(settings.model_copy(update={"redis_url": None}))
    storage = limits.limiter.storage
    assert isinstance(storage, SweptMemoryStorage)
    sweeps = 0
    sweep = storage._MemoryStorage__expire_events  # type: ignore[attr-defined]

    async def counted() -> None:
        nonlocal sweeps
        sweeps += 1
        await sweep()

    monkeypatch.setattr(storage, "_MemoryStorage__expire_events", counted)
    for visitor in range(300):  # each sweep walks every key counted so far
        await limits.check("messages_per_conversation", f"conversation-{visitor}")
        await asyncio.sleep(0)  # a finished sweep lets the next hit start another
    assert sweeps == 1  # the library alone: one per hit


async def test_expired_counters_are_not_counted_and_their_memory_is_given_back(settings: Settings) -> None:
    limits = RateLimits.from_settings(settings.model_copy(update={"redis_url": None, "rate_limits": {
        "messages_per_conversation": "2/second"}}))
    storage = limits.limiter.storage
    assert isinstance(storage, SweptMemoryStorage)
    for _ in range(2):
        await limits.check("messages_per_conversation", "ada")
    with pytest.raises(HTTPException):
        await limits.check("messages_per_conversation", "ada")
    await asyncio.sleep(2.2)  # two windows later nothing of those hits weighs any more
    await limits.check("messages_per_conversation", "grace")  # a hit after a second starts a sweep
    for _ in range(20):
        await asyncio.sleep(0)
    assert not any("ada" in key for key in storage.storage)
    await limits.check("messages_per_conversation", "ada")
