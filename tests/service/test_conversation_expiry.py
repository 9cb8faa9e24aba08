"""Conversations do not live forever in Redis: idle bot-only ones expire soon, ones a person touched are kept
for the retention period, and the history always expires with its conversation (real Redis)."""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.types import ConversationState, Message, Participant, Role
from service.redis_store import RedisConversationStore

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
