"""Nothing lives forever in Redis: idle bot-only conversations expire soon, ones a person touched are kept for
the retention period with their history and handoffs, and journal entries past it are trimmed (real Redis)."""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from bot.types import ConversationState, EscalationReason, Handoff, Message, Participant, Role, now
from service.redis_store import RedisConversationStore, RedisHandoffQueue, RedisJournal

CUSTOMER = Participant(role=Role.CUSTOMER, id="c1")


async def test_idle_conversations_expire_and_handed_off_ones_are_kept(redis_url: str, prefix: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    store = RedisConversationStore(client, prefix, idle_ttl=600, kept_ttl=86_400)
    try:
        state = ConversationState(id="abandoned", channel="web", customer=CUSTOMER)
        await store.create(state)
        await store.append(Message(conversation_id=state.id, channel="web", sender=CUSTOMER, text="hello?"))
        assert 590 <= await client.ttl(f"{prefix}:conv:abandoned") <= 600
        assert 590 <= await client.ttl(f"{prefix}:hist:abandoned") <= 600

        state.handoff_id = "h1"
        await store.save(state)
        assert 86_000 <= await client.ttl(f"{prefix}:conv:abandoned") <= 86_400
        assert 86_000 <= await client.ttl(f"{prefix}:hist:abandoned") <= 86_400
        await store.append(Message(conversation_id=state.id, channel="web", sender=CUSTOMER, text="thanks"))
        assert 86_000 <= await client.ttl(f"{prefix}:hist:abandoned") <= 86_400
    finally:
        await client.aclose()


async def test_journal_entries_older_than_the_retention_period_are_trimmed(redis_url: str, prefix: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    journal = RedisJournal(client, prefix, retention=3600)
    try:
        for at in (100.0, 200.0, 300.0, 400.0, 500.0):
            await client.rpush(f"{prefix}:journal:turn", json.dumps({"conversation_id": "c", "at": at}))
        assert await journal.trim("turn", before=350.0) == 3
        assert [e["at"] for e in await journal.entries("turn")] == [400.0, 500.0]
        await journal.record("turn", {"conversation_id": "c", "at": now()})  # the first record trims too
        assert [e["at"] for e in await journal.entries("turn")][:-1] == []
    finally:
        await client.aclose()


async def test_handoffs_expire_after_the_retention_period(redis_url: str, prefix: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    queue = RedisHandoffQueue(client, prefix, retention=7200)
    try:
        handoff = Handoff(id="h1", conversation_id="c", channel="web", reason=EscalationReason.REQUESTED)
        assert await queue.open(handoff)
        assert 7100 <= await client.ttl(f"{prefix}:handoff:h1") <= 7200
        await queue.resolve("h1")
        assert 7100 <= await client.ttl(f"{prefix}:handoff:h1") <= 7200
    finally:
        await client.aclose()


async def test_tail_reads_the_last_entries_with_their_positions(redis_url: str, prefix: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    store = RedisConversationStore(client, prefix)
    try:
        await store.create(ConversationState(id="long", channel="web", customer=CUSTOMER))
        for n in range(10):
            await store.append(Message(conversation_id="long", channel="web", sender=CUSTOMER, text=f"m{n}"))
        tail = await store.tail("long", 3)
        assert [(e.seq, e.message.text) for e in tail] == [(8, "m7"), (9, "m8"), (10, "m9")]
        assert [e.seq for e in await store.tail("long", 50)] == list(range(1, 11))
        assert tail == (await store.history("long"))[-3:]
    finally:
        await client.aclose()
