"""The deployment's monthly spending on language models, one Redis counter per calendar month (UTC), shared
by every process: past the budget, models write drafts only."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

KEPT_SECONDS = 400 * 24 * 3600  # a month's figure outlives the month, for the year's comparison


class RedisBudget:
    def __init__(self, redis: Redis, prefix: str, monthly: float | None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.prefix = prefix
        self.monthly = monthly
        self.clock = clock

    def month(self) -> str:
        return datetime.fromtimestamp(self.clock(), tz=UTC).strftime("%Y-%m")

    def key(self, month: str | None = None) -> str:
        return f"{self.prefix}:models:spent:{month or self.month()}"

    async def spent(self) -> float:
        return float(await self.redis.get(self.key()) or 0.0)

    async def exhausted(self) -> bool:
        return self.monthly is not None and await self.spent() >= self.monthly

    async def spend(self, cost: float) -> None:
        key = self.key()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incrbyfloat(key, cost)
            pipe.expire(key, KEPT_SECONDS)
            await pipe.execute()

    async def status(self) -> dict[str, Any]:
        """What the console shows: the month, what models cost so far, the budget, and whether it is spent."""
        spent = await self.spent()
        return {"month": self.month(), "spent": round(spent, 6), "monthly_budget": self.monthly,
                "drafts_only": self.monthly is not None and spent >= self.monthly}
