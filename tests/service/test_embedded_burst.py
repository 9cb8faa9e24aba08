"""A burst of concurrent turns on the embedded store waits for nothing and fails nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from service.container import build_container
from service.settings import Settings


async def test_five_hundred_concurrent_commands_all_succeed(tmp_path: Path) -> None:
    container = build_container(Settings(data_dir=tmp_path))
    redis = container.redis

    async def one(i: int) -> None:
        async with redis.pipeline(transaction=True) as pipe:  # holds its connection across awaits
            pipe.set(f"burst:{i}", i)
            pipe.get(f"burst:{i}")
            await asyncio.sleep(0)
            _, value = await pipe.execute()
        assert value == str(i)

    await asyncio.gather(*(one(i) for i in range(500)))  # redis-py's default pool refused past 100
    await container.close()


async def test_two_hundred_commands_in_flight_at_once_wait_for_no_connection(tmp_path: Path) -> None:
    """A backlog of turns keeps many commands in flight at once, each holding a pooled connection until the
    loop reads its reply. The embedded store is this process's alone: it is not held to the pool size
    meant for a shared Redis, where a burst beyond it waits `redis_pool_timeout` and then fails."""
    settings = Settings(data_dir=tmp_path, redis_pool_timeout=0.2)
    redis = build_container(settings).redis
    in_flight = settings.redis_max_connections * 4
    # each BLPOP holds its connection for 0.5 s, longer than a request would wait for one
    results = await asyncio.gather(*(redis.blpop([f"burst:empty:{i}"], timeout=0.5) for i in range(in_flight)))
    assert results == [None] * in_flight
    await redis.aclose()
