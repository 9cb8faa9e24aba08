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
