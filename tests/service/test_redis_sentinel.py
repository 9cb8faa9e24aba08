"""The store behind Redis Sentinel: the primary killed (-9) while customers chat, the replica promoted by the
sentinels, and every process finding the new primary by itself. Nothing a customer sent may be lost, stored
or answered twice, or left unanswered; every escalation reaches the agents' queue once."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.settings import Settings
from tests.redis_ha import TRAFFIC_LIMITS, SentinelGroup, Stack, chat_through, until_accepted

pytestmark = pytest.mark.slow

AGENT_TOKEN = "sentinel-agent-token"


@pytest.fixture
def sentinels(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[SentinelGroup]:
    group = SentinelGroup(tmp_path / "redis", replicas=getattr(request, "param", 1))
    try:
        yield group
    finally:
        group.stop()


@pytest.mark.parametrize(("sentinels", "wait_replicas"), [(1, 0), (2, 1)], indirect=["sentinels"],
                         ids=["one-replica", "two-replicas-confirming"])
async def test_a_failover_under_traffic_loses_and_doubles_nothing(sentinels: SentinelGroup, wait_replicas: int,
                                                                  tmp_path: Path) -> None:
    """Both ways to run it: one replica, writes acknowledged at once; two replicas, each write confirmed by one
    (SUPPORTBOT_REDIS_WAIT_REPLICAS=1), so even a write still in flight to the replicas is never lost."""
    settings = Settings(redis_url=sentinels.url, redis_prefix="ha", data_dir=tmp_path / "data",
                        agent_token=AGENT_TOKEN, rate_limits=TRAFFIC_LIMITS, redis_wait_replicas=wait_replicas,
                        _env_file=None)  # type: ignore[call-arg]
    async with Stack(settings, AGENT_TOKEN) as stack:
        run = await chat_through(stack, sentinels.primary.kill, random.Random(27))
    promoted = sentinels.promoted() is not None
    print(f"\nSentinel, {len(sentinels.replicas)} replica(s), {wait_replicas} confirming: "
          + run.report("kill -9 of the primary"))
    detail = "\n".join(run.figures.examples[:20] + run.errors[:20])
    assert promoted, "the sentinels did not promote the replica"
    assert run.figures.accepted > 0 and run.figures.escalations > 0, detail
    assert run.figures.failures() == {}, detail
    assert not run.errors, detail


@pytest.fixture
def linked_sentinels(tmp_path: Path) -> Iterator[SentinelGroup]:
    group = SentinelGroup(tmp_path / "redis", link=True, replicas=2)
    try:
        yield group
    finally:
        group.stop()


async def test_a_message_the_api_accepted_survives_a_failover_after_the_replica_fell_behind(
        linked_sentinels: SentinelGroup, tmp_path: Path) -> None:
    """Replication is asynchronous: while the replica receives nothing, the primary alone holds what it
    acknowledges, and a failover then promotes a replica without it. With SUPPORTBOT_REDIS_WAIT_REPLICAS the
    API acknowledges a message only once a replica holds it, so the widget sends it again and it is kept
    (two replicas: one to promote, one to confirm writes after the failover)."""
    sentinels = linked_sentinels
    settings = Settings(redis_url=sentinels.url, redis_prefix="ha", data_dir=tmp_path / "data",
                        agent_token=AGENT_TOKEN, redis_wait_replicas=1, _env_file=None)  # type: ignore[call-arg]
    async with Stack(settings, AGENT_TOKEN) as stack, httpx.AsyncClient(base_url=stack.base, timeout=30) as client:
        created = (await client.post("/api/conversations", json={})).json()
        token = {"X-Conversation-Token": created["token"]}
        path = f"/api/conversations/{created['conversation_id']}/messages"
        message = {"id": uuid.uuid4().hex, "text": "How do I reset my password?"}
        assert sentinels.link is not None
        sentinels.link.hold()  # from here the replica receives nothing more
        first = await client.post(path, json=message, headers=token)
        sentinels.primary.kill()
        await asyncio.to_thread(sentinels.wait_promoted)
        if first.status_code not in (201, 202):  # not acknowledged: the widget sends it again
            assert first.status_code == 503, first.text
            await until_accepted(client, path, message, token)
        stored = [m for m in await history(client, path, token) if m["id"] == message["id"]]
    assert len(stored) == 1, f"acknowledged with {first.status_code}, then lost in the failover"


async def history(client: httpx.AsyncClient, path: str, token: dict[str, str]) -> list[dict[str, Any]]:
    for _ in range(300):
        response = await client.get(path, headers=token)
        if response.status_code == 200:
            return list(response.json()["messages"])
        await asyncio.sleep(0.1)
    raise TimeoutError(f"GET {path} kept failing")


async def test_rate_limits_count_on_the_primary(sentinels: SentinelGroup, tmp_path: Path) -> None:
    settings = Settings(redis_url=sentinels.url, redis_prefix="ha", data_dir=tmp_path / "data",
                        agent_token=AGENT_TOKEN, rate_limits={"conversations": "3/minute"},
                        _env_file=None)  # type: ignore[call-arg]
    async with Stack(settings, AGENT_TOKEN) as stack, httpx.AsyncClient(base_url=stack.base) as client:
        codes = [(await client.post("/api/conversations", json={})).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    assert list(sentinels.primary.client.scan_iter(match="*ha:rl*"))
