"""The expected wait told to an escalated customer: right, and not a read of the whole open queue per turn."""

from __future__ import annotations

import time

from bot.types import EscalationReason, Handoff
from service.container import Container
from service.redis_store import RedisHandoffQueue
from service.waiting import ExpectedWait


def handoff(n: int, category: str) -> Handoff:
    return Handoff(id=f"h{n}", conversation_id=f"c{n}", channel="web", reason=EscalationReason.REQUESTED,
                   category=category, question=f"question {n}")


class CountingQueue:
    def __init__(self, queue: RedisHandoffQueue) -> None:
        self.queue = queue
        self.reads = 0

    async def open_handoffs(self, category: str | None = None) -> list[Handoff]:
        self.reads += 1
        return await self.queue.open_handoffs(category)


async def test_the_open_queue_is_read_once_per_category_while_the_count_is_fresh(container: Container) -> None:
    for n in range(300):
        await container.queue.open(handoff(n, "billing" if n % 3 else "account"))
    queue = CountingQueue(container.queue)
    wait = ExpectedWait(queue, 2, fresh_seconds=0.5)  # type: ignore[arg-type]
    for _ in range(50):  # fifty escalated turns in a burst
        assert await wait("billing") == (200 + 1) * 2
        assert await wait("account") == (100 + 1) * 2
    assert queue.reads == 2  # it was 100 reads of all 300 handoffs, one by one
    await container.queue.resolve("h0")
    time.sleep(0.6)
    assert await wait("account") == (99 + 1) * 2 and queue.reads == 3


async def test_open_handoffs_reads_the_queue_in_one_round_trip(container: Container) -> None:
    for n in range(40):
        await container.queue.open(handoff(n, "billing"))
    commands: list[str] = []
    original = container.redis.execute_command

    async def recording(*args, **options):  # type: ignore[no-untyped-def]
        commands.append(str(args[0]))
        return await original(*args, **options)

    container.redis.execute_command = recording  # type: ignore[method-assign]
    try:
        found = await container.queue.open_handoffs("billing")
    finally:
        container.redis.execute_command = original  # type: ignore[method-assign]
    assert sorted(h.id for h in found) == sorted(f"h{n}" for n in range(40))
    assert commands == ["ZRANGE", "MGET"]


def test_no_minutes_per_handoff_hides_the_wait() -> None:
    import asyncio

    assert asyncio.run(ExpectedWait(None, 0)("billing")) is None  # type: ignore[arg-type]
