"""The deployment docker-compose.yml describes, started for real and put through what production does to it.

Where a Docker engine runs (or can be started: root and Debian's dockerd), the image is built from the
Dockerfile and the file is run by the real Compose (tests/topology/engine.py): containers, their health
checks, restart policies, replicas, volumes and Compose's network. Elsewhere every service runs as a local
process with its compose command and environment (tests/topology/harness.py). Either way: Redis with its
append-only file, `chroma run`, the one-shot ingest of the sample help centre, two API processes behind
HAProxy (the shipped config/haproxy.cfg), two Celery workers and beat. Customers talk to the proxy as the
widget does (tests/topology/traffic.py) while an API process is killed (-9), a worker is killed (-9) and
Redis is restarted; the restart policies bring the killed processes back. Nothing a customer sent may be
lost, stored or answered twice, or left unanswered; every escalation must reach the agents' queue exactly
once. SUPPORTBOT_TEST_TOPOLOGY=engine or =processes picks one way instead of the first that is possible.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.net import free_port
from tests.topology import engine
from tests.topology.harness import Topology
from tests.topology.traffic import Customer, Figures, account

pytestmark = pytest.mark.slow

AGENT_TOKEN = "topology-agent-token"
# the operator's environment: the two required variables, and a visibility timeout short enough that a killed
# worker's unfinished tasks come back within the run
VISIBILITY_TIMEOUT = 20
SHELL = {"SUPPORTBOT_AGENT_TOKEN": AGENT_TOKEN, "SUPPORTBOT_ADMIN_PASSWORD": "topology-admin-password",
         "SUPPORTBOT_METRICS_TOKEN": "topology-metrics-token",
         "SUPPORTBOT_TASK_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
CUSTOMERS = 8
BETWEEN_FAULTS = 10.0


def on_the_engine() -> bool:
    wanted = os.environ.get("SUPPORTBOT_TEST_TOPOLOGY", "auto")
    if wanted == "processes":
        return False
    possible = engine.compose_command() is not None and shutil.which("mmdebstrap") is not None \
        and engine.ensure_engine()
    assert possible or wanted != "engine", "SUPPORTBOT_TEST_TOPOLOGY=engine, but no Docker engine and Compose"
    return possible


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology | engine.ComposeTopology]:
    if not on_the_engine():
        print("\ntopology: local processes (no Docker engine here, or SUPPORTBOT_TEST_TOPOLOGY=processes)")
        local = Topology(SHELL, tmp_path)
        try:
            local.up()
            yield local
        finally:
            local.down()
        return
    yield from containers(tmp_path)


def containers(tmp_path: Path, variants: tuple[str, ...] = ()) -> Iterator[engine.ComposeTopology]:
    """The image built (cached layers make a rebuild of unchanged sources quick), then docker-compose.yml up
    (with the `variants`' files over it)."""
    started = time.monotonic()
    engine.debian_image(engine.BASE_IMAGE, ["python3", "python3-venv", "ca-certificates"])
    engine.debian_image(engine.SERVICES_IMAGE, ["redis-server", "haproxy", "ca-certificates"])
    bases = time.monotonic() - started
    built = engine.build_image()
    print(f"\ntopology: Docker engine and Compose; base images {bases:.0f} s, image build {built:.0f} s, "
          f"image size {engine.image_size() / 1e6:.0f} MB")
    deployed = engine.ComposeTopology(SHELL, tmp_path, free_port(), variants)
    try:
        deployed.up()
        cold = deployed.cold_start("api", 1)
        print(f"topology: up and healthy {deployed.startup_seconds:.0f} s after `up` (ingest included); an API "
              f"container answers /healthz {cold:.1f} s after `docker restart`")
        yield deployed
    finally:
        deployed.down()


async def agents_queue(agents: httpx.AsyncClient) -> list[dict]:  # type: ignore[type-arg]
    while True:
        try:
            response = await agents.get("/api/agent/handoffs")
            if response.status_code == 200:
                return list(response.json())
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.5)


async def settled_queue(agents: httpx.AsyncClient, escalated: set[str], within: float) -> tuple[list[dict], float]:  # type: ignore[type-arg]
    """The agents' queue once every escalated conversation is in it, or as it is after `within` seconds: a
    task held by a killed worker comes back only after the visibility timeout."""
    started = time.monotonic()
    while True:
        queue = await agents_queue(agents)
        if escalated <= {h["conversation_id"] for h in queue} or time.monotonic() - started > within:
            return queue, time.monotonic() - started
        await asyncio.sleep(0.5)


async def settle(everyone: list[Customer], agents: httpx.AsyncClient, run_started: float
                 ) -> tuple[list[Customer], list[dict], float, Figures]:  # type: ignore[type-arg]
    """After the traffic: the agents' queue settled for the conversations that escalated, the run accounted,
    every client closed."""
    escalated = {v.conversation_id for c in everyone for v in c.visits if v.escalated}
    queue, settled = await settled_queue(agents, escalated, 2 * VISIBILITY_TIMEOUT + 15)
    figures = await account(everyone, queue, run_started)
    await agents.aclose()
    for customer in everyone:
        await customer.close()
    return everyone, queue, settled, figures


async def recovery(inject: Callable[[], None], prober: Customer, agents: httpx.AsyncClient,
                   faults: dict[str, float], name: str) -> float:
    """Seconds from the fault until a new customer's request for a person is acknowledged through the proxy
    and shows up in the agents' queue (API, Redis and a worker all working again)."""
    started = faults[name] = time.monotonic()
    await asyncio.to_thread(inject)
    while True:
        visit = await prober.converse(0, escalate=True)
        if visit.escalated:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if any(h["conversation_id"] == visit.conversation_id for h in await agents_queue(agents)):
                    return time.monotonic() - started
                await asyncio.sleep(0.3)


async def warm_up(topology: Topology | engine.ComposeTopology, rng: random.Random) -> None:
    """One question to each API process directly, so the traffic does not start on processes still loading
    their models (a process restarted during the run starts cold, as in production)."""
    for index in range(len(topology.replicas["api"])):
        direct = Customer(topology.url("api", index), "127.0.0.2" if isinstance(topology, Topology) else "0.0.0.0",
                          rng)
        await direct.converse(1, escalate=False)
        await direct.close()


async def test_no_message_or_handoff_is_lost_or_doubled_when_processes_die(
        topology: Topology | engine.ComposeTopology) -> None:
    rng = random.Random(6)
    await warm_up(topology, rng)
    run_started = time.monotonic()
    base = topology.url("proxy")
    customers = [Customer(base, f"127.0.0.{10 + i}", rng) for i in range(CUSTOMERS)]
    prober = Customer(base, "127.0.0.200", rng)
    agents = httpx.AsyncClient(base_url=base, timeout=30, headers={"Authorization": f"Bearer {AGENT_TOKEN}"})
    stop = asyncio.Event()
    running = [asyncio.create_task(c.run(stop)) for c in customers]
    recovered: dict[str, float] = {}
    faults: dict[str, float] = {}  # name -> when it was injected
    try:
        await asyncio.sleep(BETWEEN_FAULTS)
        api_kill = "kill -9 of an API process"
        recovered[api_kill] = await recovery(lambda: topology.kill("api", 0), prober, agents, faults, api_kill)
        await asyncio.to_thread(topology.wait_healthy, "api")
        recovered["killed API process healthy again"] = time.monotonic() - faults[api_kill]
        await asyncio.sleep(BETWEEN_FAULTS)
        worker_kill = "kill -9 of a worker"
        recovered[worker_kill] = await recovery(lambda: topology.kill("worker", 0), prober, agents, faults,
                                                worker_kill)
        await asyncio.sleep(BETWEEN_FAULTS)
        recovered["Redis restart"] = await recovery(lambda: topology.restart("redis"), prober, agents, faults,
                                                    "Redis restart")
        await asyncio.sleep(BETWEEN_FAULTS)
    finally:
        stop.set()
        await asyncio.gather(*running, return_exceptions=True)
    everyone, queue, settled, figures = await settle(customers + [prober], agents, run_started)
    restarts = topology.restarts()
    # a process that exited by itself, not because the test killed it (the supervisor restarted it)
    unexpected_exits = {name: count - {"api": 1, "worker": 1}.get(name, 0)
                        for name, count in restarts.items() if count > {"api": 1, "worker": 1}.get(name, 0)}
    errors = [e for c in everyone for e in c.errors]
    print(f"\ntopology: started in {topology.startup_seconds:.0f} s (ingest included), "
          f"then {time.monotonic() - run_started:.0f} s of traffic and faults")
    print(f"  conversations {figures.conversations}, messages sent {figures.sent}, accepted {figures.accepted}, "
          f"sent again after a failure {figures.resends}, socket reconnects {figures.socket_reconnects}")
    print(f"  faults: 1 API kill -9, 1 worker kill -9, 1 Redis restart; restarts by policy {restarts}")
    print("  faults at " + ", ".join(f"{name} {at - run_started:.1f} s" for name, at in faults.items()))
    for fault, seconds in recovered.items():
        print(f"  recovered from {fault}: {seconds:.1f} s")
    print(f"  escalations {figures.escalations}, handoffs in the agents' queue {figures.handoffs} "
          f"({settled:.1f} s after the traffic stopped)")
    print(f"  lost {figures.lost}, duplicated {figures.duplicated}, unanswered {figures.unanswered}, "
          f"not accepted {figures.not_accepted}, not delivered live {figures.not_delivered_live}, "
          f"repeated live {figures.repeated_live}, duplicate handoffs {figures.duplicate_handoffs}, "
          f"missing handoffs {figures.missing_handoffs}, unexpected exits {unexpected_exits}")
    detail = "\n".join(figures.examples[:20] + errors[:20]) + "\n" + topology.tail(lines=30)
    assert figures.accepted > 0 and figures.escalations > 0, detail
    assert figures.failures() == {}, detail
    assert not errors, detail
    assert unexpected_exits == {}, detail
