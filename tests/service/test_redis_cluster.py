"""The store on a Redis Cluster of three primaries with a replica each (real processes).

Every key of a conversation carries its id as hash tag, so its scripts and transactions stay in one slot while
conversations spread over the shards; live events go over sharded pub/sub; the handoff queue, login counts,
upload quotas, phase overrides and the privacy erase name no two slots in one command. Then a primary is
killed (-9) while customers chat and its replica takes over: nothing lost, doubled or left unanswered."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bot.files import Attachment
from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from bot.types import Participant, Phase, Role
from connectors.console.auth import MAX_FAILED_LOGINS, LoginAttempts
from service.container import Container, build_container
from service.privacy import CustomerRecords
from service.settings import Settings
from tests.redis_ha import TRAFFIC_LIMITS, ClusterGroup, Stack, chat_through
from tests.waiting import wait_for
from tests.workers.test_celery_handoff import customer_message

pytestmark = pytest.mark.slow

AGENT_TOKEN = "cluster-agent-token"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ClusterGroup]:
    group = ClusterGroup(tmp_path / "redis")
    try:
        yield group
    finally:
        group.stop()


def cluster_settings(cluster: ClusterGroup, tmp_path: Path, **extra: object) -> Settings:
    return Settings(redis_url=cluster.url, redis_prefix="ha", data_dir=tmp_path / "data", agent_token=AGENT_TOKEN,
                    _env_file=None, **extra)  # type: ignore[call-arg]


@pytest.fixture
async def on_cluster(cluster: ClusterGroup, tmp_path: Path) -> AsyncIterator[Container]:
    built = build_container(cluster_settings(cluster, tmp_path), runner=InlineTaskRunner(),
                            knowledge=sample_knowledge(), answerer=FirstSentenceAnswerer())
    yield built
    await built.close()


def keys_per_primary(cluster: ClusterGroup, pattern: str) -> list[int]:
    return [len(list(node.client.scan_iter(match=pattern, count=1000))) for node in cluster.primaries()]


async def test_every_store_piece_keeps_to_one_slot_per_command(on_cluster: Container, cluster: ClusterGroup,
                                                               tmp_path: Path) -> None:
    container = on_cluster
    customer = Participant(role=Role.CUSTOMER, id=f"visitor-{uuid.uuid4().hex[:6]}")
    states = [await container.dialogue.start("web", customer) for _ in range(12)]
    agents = await container.queue.subscribe()
    live = await container.store.subscribe(states[0].id)
    for state in states:
        await container.dialogue.handle(customer_message(state.id, "How do I reset my password?"))
    turn = await container.dialogue.handle(customer_message(states[0].id, "I want to talk to a person, please"))
    assert turn.handoff_id
    assert all(count > 0 for count in keys_per_primary(cluster, "ha:conv:*")), "conversations not spread"
    seen = [await live.get(5) for _ in range(4)]
    assert [e["seq"] for e in seen if e] == [1, 2, 3, 4], seen  # over sharded pub/sub, in order
    event = await agents.get(5)
    assert event is not None and event["handoff_id"] == turn.handoff_id
    assert [h.id for h in await container.queue.open_handoffs()] == [turn.handoff_id]
    claimed = await container.queue.claim(turn.handoff_id, "alice")
    assert claimed.claimed_by == "alice"
    await container.queue.resolve(turn.handoff_id)
    assert await container.queue.open_handoffs() == []

    attempts = LoginAttempts(container.redis, "ha")
    assert all([await attempts.reserve("alice", "10.0.0.1") for _ in range(MAX_FAILED_LOGINS)])
    assert not await attempts.reserve("alice", "10.0.0.1")
    assert await attempts.unlock("alice") == 1
    assert await attempts.reserve("alice", "10.0.0.1")

    await container.phase_overrides.set("general", Phase.FULL)
    assert await container.phase_overrides.load() == {"general": Phase.FULL}

    reservation = await container.uploads.reserve("10.0.0.2", states[1].id, 1000)
    attachment = Attachment(id=uuid.uuid4().hex, filename="a.txt", content_type="text/plain", size=1000,
                            conversation_id=states[1].id)
    await container.uploads.kept(attachment, reservation.size)

    records = CustomerRecords(container.redis, "ha", files=container.attachments)
    exported = await records.export(customer.id)
    assert len(exported["conversations"]) == len(states)
    erased = await records.erase(customer.id)
    assert erased["conversations"] == len(states) and erased["handoffs"] == 1
    assert all(count == 0 for count in keys_per_primary(cluster, "ha:conv:*"))


async def test_rate_limits_count_on_the_cluster(cluster: ClusterGroup, tmp_path: Path) -> None:
    settings = cluster_settings(cluster, tmp_path, rate_limits={"conversations": "3/minute"})
    async with Stack(settings, AGENT_TOKEN) as stack, httpx.AsyncClient(base_url=stack.base) as client:
        codes = [(await client.post("/api/conversations", json={})).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    assert sum(keys_per_primary(cluster, "*ha:rl*")) > 0


async def test_a_replica_promoted_under_traffic_loses_and_doubles_nothing(cluster: ClusterGroup,
                                                                          tmp_path: Path) -> None:
    victim = cluster.node_of("{handoffs}")  # the agents' queue and a third of the conversations
    async with Stack(cluster_settings(cluster, tmp_path, rate_limits=TRAFFIC_LIMITS), AGENT_TOKEN) as stack:
        run = await chat_through(stack, victim.kill, random.Random(7))
    wait_for(cluster.settled, 30, "the cluster to settle with the replica promoted")
    print("\nCluster " + run.report("kill -9 of the primary holding the handoff queue"))
    detail = "\n".join(run.figures.examples[:20] + run.errors[:20])
    assert victim not in cluster.primaries()
    assert run.figures.accepted > 0 and run.figures.escalations > 0, detail
    assert run.figures.failures() == {}, detail
    assert not run.errors, detail
