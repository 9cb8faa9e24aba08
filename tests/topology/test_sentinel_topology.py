"""docker-compose.yml with docker-compose.sentinel.yml over it, on the Docker engine: the store and the broker
on a Redis primary, a replica and three sentinels. Customers talk to the proxy while the primary's container
is killed (`docker kill`: it stays down, no restart policy brings it back); the sentinels promote the
replica and every process finds it by itself. Later the old primary is started again and rejoins as a
replica. Nothing a customer sent may be lost, stored or answered twice, or left unanswered; every
escalation reaches the agents' queue exactly once. Needs a Docker engine (tests/topology/engine.py starts
one when it is root on Debian; scripts/services installs it); the store's own failover without containers
is tests/service/test_redis_sentinel.py."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.topology import engine
from tests.topology.test_production_topology import (
    AGENT_TOKEN,
    BETWEEN_FAULTS,
    CUSTOMERS,
    containers,
    on_the_engine,
    recovery,
    settle,
    warm_up,
)
from tests.topology.traffic import Customer
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

VARIANT = ("docker-compose.sentinel.yml",)


@pytest.fixture
def sentinel_topology(tmp_path: Path) -> Iterator[engine.ComposeTopology]:
    assert on_the_engine(), "the Sentinel topology runs on a Docker engine (bash scripts/services installs one)"
    yield from containers(tmp_path, VARIANT)


def primary_address(topology: engine.ComposeTopology, sentinel: str) -> str:
    return topology.exec(sentinel, "redis-cli", "-p", "26379", "sentinel", "get-master-addr-by-name",
                         "supportbot").splitlines()[0]


async def test_nothing_is_lost_or_doubled_when_the_redis_primary_dies(
        sentinel_topology: engine.ComposeTopology) -> None:
    topology = sentinel_topology
    old_primary, replica = topology.address("redis"), topology.address("redis-replica")
    assert primary_address(topology, "sentinel-1") == old_primary
    rng = random.Random(7)
    await warm_up(topology, rng)
    run_started = time.monotonic()
    base = topology.url("proxy")
    customers = [Customer(base, f"127.0.0.{10 + i}", rng) for i in range(CUSTOMERS)]
    prober = Customer(base, "127.0.0.200", rng)
    agents = httpx.AsyncClient(base_url=base, timeout=30, headers={"Authorization": f"Bearer {AGENT_TOKEN}"})
    stop = asyncio.Event()
    running = [asyncio.create_task(c.run(stop)) for c in customers]
    faults: dict[str, float] = {}
    try:
        await asyncio.sleep(BETWEEN_FAULTS)
        failover = await recovery(lambda: topology.stop("redis"), prober, agents, faults, "primary killed")
        promoted = {primary_address(topology, f"sentinel-{n}") for n in (1, 2, 3)}
        await asyncio.sleep(BETWEEN_FAULTS)
        await asyncio.to_thread(topology.start, "redis")  # the old primary comes back: a replica now
        await asyncio.to_thread(
            wait_for, lambda: "role:slave" in topology.exec("redis", "redis-cli", "info", "replication"), 60,
            "the old primary to rejoin as a replica")
        await asyncio.sleep(BETWEEN_FAULTS)
    finally:
        stop.set()
        await asyncio.gather(*running, return_exceptions=True)
    everyone, queue, settled, figures = await settle(customers + [prober], agents, run_started)
    restarts = {name: count for name, count in topology.restarts().items() if count}
    errors = [e for c in everyone for e in c.errors]
    print(f"\nsentinel topology: {time.monotonic() - run_started:.0f} s of traffic; primary killed at "
          f"{faults['primary killed'] - run_started:.1f} s; the next escalation answered and in the agents' "
          f"queue {failover:.1f} s after the primary's death; sentinels now name {promoted} (replica {replica})")
    print(f"  conversations {figures.conversations}, messages sent {figures.sent}, accepted {figures.accepted}, "
          f"sent again after a failure {figures.resends}, socket reconnects {figures.socket_reconnects}")
    print(f"  escalations {figures.escalations}, handoffs {figures.handoffs} ({settled:.1f} s after the traffic "
          f"stopped); lost {figures.lost}, duplicated {figures.duplicated}, unanswered {figures.unanswered}, "
          f"duplicate handoffs {figures.duplicate_handoffs}, missing handoffs {figures.missing_handoffs}, "
          f"restarts {restarts}")
    detail = "\n".join(figures.examples[:20] + errors[:20]) + "\n" + topology.tail(lines=30)
    assert promoted == {replica}, detail
    assert figures.accepted > 0 and figures.escalations > 0, detail
    assert figures.failures() == {}, detail
    assert not errors, detail
    assert restarts == {}, detail
