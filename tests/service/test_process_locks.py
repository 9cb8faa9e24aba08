"""The embedded store serializes turns with in-process locks: no Redis lease, same one-at-a-time rule."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.exceptions import LockError

from service.container import build_container
from service.redis_store import ProcessLocks
from service.settings import Settings


async def test_turns_of_one_conversation_take_turns_and_others_do_not_wait() -> None:
    locks = ProcessLocks()
    order: list[str] = []

    async def turn(conversation: str, name: str, hold: float) -> None:
        async with locks(conversation):
            order.append(f"{name} in")
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    first = asyncio.create_task(turn("c1", "a", 0.2))
    await asyncio.sleep(0.01)
    await asyncio.gather(turn("c1", "b", 0.0), turn("c2", "c", 0.0), first)
    assert order.index("c out") < order.index("a out")  # another conversation went ahead
    assert order.index("a out") < order.index("b in")  # the same conversation waited
    assert locks._held == {}  # nothing kept once no turn holds or waits


async def test_a_lock_held_too_long_is_an_error_for_the_waiter_not_a_hang() -> None:
    locks = ProcessLocks(wait=0.1)
    async with locks("c1"):
        with pytest.raises(LockError, match="c1"):
            async with locks("c1"):
                pass
    async with locks("c1"):  # and the lock still works afterwards
        pass
    assert locks._held == {}


async def test_an_embedded_turn_leaves_no_lock_in_the_store(tmp_path: Path) -> None:
    container = build_container(Settings(data_dir=tmp_path))
    assert container.settings.embedded and container.store.process_locks is not None
    async with container.store.lock("c1"):
        assert await container.redis.keys("*lock*") == []
    await container.close()
