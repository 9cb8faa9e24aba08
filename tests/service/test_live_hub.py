"""The live hub: every listener of a process on one pub/sub connection, on the real Redis and embedded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.errors import SubscriptionEnded
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from bot.types import Message, Participant, Role
from service.container import build_container
from service.live_hub import LiveHub
from service.settings import Settings
from tests.waiting import eventually


@pytest.fixture
async def hub(redis_url: str) -> AsyncIterator[LiveHub]:
    live = LiveHub(Redis.from_url(redis_url, decode_responses=True), backlog=4)
    yield live
    await live.close()


@pytest.fixture
async def publisher(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def subscribers(redis: Redis, channel: str) -> int:
    [(_, count)] = await redis.pubsub_numsub(channel)
    return int(count)


async def test_listeners_of_a_channel_share_one_subscription_until_the_last_leaves(
        hub: LiveHub, publisher: Redis, prefix: str) -> None:
    channel = f"{prefix}:live:c1"
    first, second = await hub.subscribe(channel), await hub.subscribe(channel)
    assert await subscribers(publisher, channel) == 1
    await publisher.publish(channel, '{"n": 1}')
    assert await first.get(timeout=5) == {"n": 1} and await second.get(timeout=5) == {"n": 1}

    await first.close()
    await first.close()  # idempotent
    await publisher.publish(channel, '{"n": 2}')
    assert await second.get(timeout=5) == {"n": 2}
    assert await subscribers(publisher, channel) == 1

    await second.close()
    assert hub.listening() == 0

    async def unsubscribed() -> bool:  # the UNSUBSCRIBE goes out from a task of the hub's own
        return await subscribers(publisher, channel) == 0

    await eventually(unsubscribed)


async def test_a_listener_that_falls_behind_is_ended_and_the_others_keep_receiving(
        hub: LiveHub, publisher: Redis, prefix: str) -> None:
    slow, quick = await hub.subscribe(f"{prefix}:live:busy"), await hub.subscribe(f"{prefix}:live:busy")
    for n in range(6):  # more than the backlog of 4
        await publisher.publish(f"{prefix}:live:busy", f'{{"n": {n}}}')
        assert await quick.get(timeout=5) == {"n": n}
    assert [await slow.get(timeout=5) for _ in range(4)] == [{"n": n} for n in range(4)]
    with pytest.raises(SubscriptionEnded, match="fell behind"):
        await slow.get(timeout=5)
    with pytest.raises(SubscriptionEnded):  # and stays ended
        await slow.get(timeout=5)
    await publisher.publish(f"{prefix}:live:busy", '{"n": 6}')
    assert await quick.get(timeout=5) == {"n": 6}
    await slow.close()
    await quick.close()


async def test_embedded_mode_delivers_live_entries(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, agent_token="x", _env_file=None)  # type: ignore[call-arg]
    container = build_container(settings, knowledge=sample_knowledge(), answerer=FirstSentenceAnswerer())
    try:
        customer = Participant(role=Role.CUSTOMER, id="visitor")
        state = await container.dialogue.start("web", customer)
        subscription = await container.store.subscribe(state.id)
        await container.store.append(Message(conversation_id=state.id, channel="web", sender=customer,
                                             text="hello there"))
        event = await subscription.get(timeout=5)
        assert event is not None and event["seq"] == 1 and event["message"]["text"] == "hello there"
        await subscription.close()
    finally:
        await container.close()
