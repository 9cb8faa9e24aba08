"""Redis as production runs it beyond one server, as real processes on free ports: a primary with a replica
watched by three sentinels, and a cluster of three primaries with a replica each."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis
import uvicorn

from tests.net import free_port
from tests.topology.traffic import Customer, Figures, account

MASTER_NAME = "supportbot"


def _wait(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except redis.RedisError as error:
            last = error
        time.sleep(0.1)
    raise TimeoutError(f"{what} not within {timeout} s (last error: {last})")


class Node:
    """One redis-server (or sentinel) process with its own directory; killed on `stop`."""

    def __init__(self, directory: Path, args: list[str], port: int) -> None:
        self.directory, self.port = directory, port
        directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(args, cwd=directory, stdout=(directory / "log").open("ab"),
                                        stderr=subprocess.STDOUT)
        self.client = redis.Redis(port=self.port, socket_timeout=2, decode_responses=True)
        _wait(self.client.ping, 10, f"redis on port {port}")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """kill -9: no shutdown, no last write."""
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def log(self) -> str:
        return (self.directory / "log").read_text(errors="replace")


def redis_server(directory: Path, *extra: str) -> Node:
    port = free_port()
    return Node(directory, ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no", "--dir", str(directory), *extra], port)


class Link:
    """The replication link from the primary to the replica, through this process: `hold()` drops what the
    primary sends from then on, as if it were still in flight when the primary died."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.held = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def hold(self) -> None:
        self.held = True

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                return
            threading.Thread(target=self._pump, args=(upstream, downstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(downstream, upstream, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, from_primary: bool) -> None:
        try:
            while data := source.recv(65536):
                if not (from_primary and self.held):
                    target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.close()

    def close(self) -> None:
        self.listener.close()


class SentinelGroup:
    """A primary, `replicas` replicas and three sentinels that agree (quorum 2) the primary is down one second
    after it stops answering, then promote a replica. `link=True`: the replicas replicate through a `Link`."""

    def __init__(self, directory: Path, *, down_after_ms: int = 1000, link: bool = False, replicas: int = 1) -> None:
        self.replicas: list[Node] = []
        self.sentinels: list[Node] = []
        self.link: Link | None = None
        try:
            self._start(directory, down_after_ms, link, replicas)
        except BaseException:
            self.stop()
            raise

    def _start(self, directory: Path, down_after_ms: int, link: bool, replicas: int) -> None:
        self.primary = redis_server(directory / "primary")
        self.link = Link(self.primary.port) if link else None
        for index in range(replicas):
            self.replicas.append(redis_server(directory / f"replica{index}", "--replicaof", "127.0.0.1",
                                              str(self.link.port if self.link else self.primary.port)))
        self.replica = self.replicas[0]
        for index in range(3):
            port = free_port()
            home = directory / f"sentinel{index}"
            home.mkdir(parents=True)
            config = home / "sentinel.conf"
            config.write_text(f"port {port}\nbind 127.0.0.1\ndir {home}\n"
                              f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.primary.port} 2\n"
                              f"sentinel down-after-milliseconds {MASTER_NAME} {down_after_ms}\n"
                              f"sentinel failover-timeout {MASTER_NAME} 10000\n"
                              f"sentinel parallel-syncs {MASTER_NAME} 1\n")
            self.sentinels.append(Node(home, ["redis-sentinel", str(config)], port))
        _wait(lambda: all(r.client.info("replication")["master_link_status"] == "up" for r in self.replicas), 20,
              "the replicas in sync")
        # a failover needs every sentinel to know the replica and the other sentinels (they learn by hello
        # messages on the primary, every 2 s)
        _wait(lambda: all(len(s.client.execute_command("SENTINEL", "REPLICAS", MASTER_NAME)) == len(self.replicas)
                          and len(s.client.execute_command("SENTINEL", "SENTINELS", MASTER_NAME)) == 2
                          for s in self.sentinels), 30, "the sentinels to know the replicas and each other")

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{MASTER_NAME}/0"

    def primary_port(self) -> int:
        _, port = self.sentinels[0].client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
        return int(port)

    def promoted(self) -> Node | None:
        """The replica the sentinels name as primary, once it acts as one."""
        port = self.primary_port()
        node = next((r for r in self.replicas if r.port == port), None)
        return node if node is not None and node.client.info("replication")["role"] == "master" else None

    def wait_promoted(self, timeout: float = 30) -> float:
        """Seconds until the sentinels name a replica as primary."""
        started = time.monotonic()
        _wait(self.promoted, timeout, "a replica promoted")
        return time.monotonic() - started

    def stop(self) -> None:
        for node in [*self.sentinels, *self.replicas, *([self.primary] if hasattr(self, "primary") else [])]:
            node.kill()
        if self.link is not None:
            self.link.close()


class ClusterGroup:
    """Three primaries and three replicas made into a cluster by `redis-cli --cluster create`; a replica
    takes over a primary that stops answering for `node_timeout_ms`."""

    def __init__(self, directory: Path, *, node_timeout_ms: int = 1000) -> None:
        self.nodes: list[Node] = []
        try:
            for index in range(6):
                self.nodes.append(redis_server(directory / f"node{index}", "--cluster-enabled", "yes",
                                               "--cluster-config-file", "nodes.conf",
                                               "--cluster-port", str(free_port()),
                                               "--cluster-node-timeout", str(node_timeout_ms)))
            subprocess.run(["redis-cli", "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes),
                            "--cluster-replicas", "1", "--cluster-yes"], check=True, capture_output=True, timeout=60)
            _wait(self.settled, 30, "the cluster to agree on its slots")
        except BaseException:
            self.stop()
            raise

    def settled(self) -> bool:
        """Every live node says the cluster is ok and sees three primaries."""
        for node in self.nodes:
            if node.alive:
                info = node.client.execute_command("CLUSTER", "INFO")
                if "cluster_state:ok" not in str(info):
                    return False
        return len(self.primaries()) == 3

    def primaries(self) -> list[Node]:
        return [n for n in self.nodes if n.alive and n.client.info("replication")["role"] == "master"
                and self._holds_slots(n)]

    @staticmethod
    def _holds_slots(node: Node) -> bool:
        for line in str(node.client.execute_command("CLUSTER", "NODES")).splitlines():
            fields = line.split()
            if "myself" in fields[2]:
                return len(fields) > 8
        return False

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes[:3])

    def node_of(self, key: str) -> Node:
        """The primary that holds `key`'s slot now."""
        slot = int(self.nodes[0].client.execute_command("CLUSTER", "KEYSLOT", key))
        for node in self.primaries():
            for line in str(node.client.execute_command("CLUSTER", "NODES")).splitlines():
                fields = line.split()
                if "myself" in fields[2]:
                    for span in fields[8:]:
                        low, _, high = span.partition("-")
                        if low.isdigit() and int(low) <= slot <= int(high or low):
                            return node
        raise LookupError(f"no primary holds slot {slot}")

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()


# rate limits for a handful of addresses each holding many short conversations (the default limits are per
# visitor: 30 new conversations a minute)
TRAFFIC_LIMITS = {"conversations": "1000/minute", "messages": "1000/minute", "live": "1000/minute"}


def help_centre() -> Any:
    """An answer for every question the traffic asks, so conversations go on until the customer asks for a
    person (bot/testing.py's sample covers two of them)."""
    from bot.testing import sample_knowledge

    kb = sample_knowledge()
    for key, title, text in [
            ("export", "Exporting your data", "To export your data open Settings and choose Export data."),
            ("cancel", "Cancelling a subscription", "To cancel your subscription open Billing and click Cancel."),
            ("2fa", "Two-factor authentication", "To turn on two-factor authentication open Security and "
                                                  "scan the code with an authenticator app."),
            ("limits", "API rate limits", "The API rate limits are 100 requests per minute per key."),
            ("shipping", "Shipping times", "Shipping takes three to five business days."),
            ("retention", "How long we keep data", "We keep your data for as long as your account is open.")]:
        kb.add(key, title, text)
    return kb


class Stack:
    """The API with its container in this process, served by uvicorn on a free port: customers reach it over
    HTTP and WebSocket as the widget does; handoffs are opened in the same process (the inline runner)."""

    def __init__(self, settings: Any, agent_token: str) -> None:
        from bot.runner import InlineTaskRunner
        from bot.testing import FirstSentenceAnswerer
        from service.asgi import create_app
        from service.container import build_container

        self.container = build_container(settings, runner=InlineTaskRunner(), knowledge=help_centre(),
                                         answerer=FirstSentenceAnswerer())
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(settings, self.container), host="127.0.0.1",
                                                    port=self.port, log_level="warning", ws_ping_interval=None))
        self.agents = httpx.AsyncClient(base_url=self.base, timeout=30,
                                        headers={"Authorization": f"Bearer {agent_token}"})
        self._serving: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Stack:
        self._serving = asyncio.create_task(self.server.serve())
        while not self.server.started:
            assert not self._serving.done(), "the API did not start"
            await asyncio.sleep(0.05)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.agents.aclose()
        self.server.should_exit = True
        if self._serving is not None:
            await self._serving

    async def queue(self) -> list[dict[str, Any]]:
        """The agents' queue, once the store answers."""
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            try:
                response = await self.agents.get("/api/agent/handoffs")
                if response.status_code == 200:
                    return list(response.json())
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
        raise TimeoutError(f"the agents' queue did not answer within {PATIENCE} s")

    async def answered_after(self, since: float, address: str) -> float:
        """Seconds from `since` (time.monotonic()) until a new customer's question gets its answer: sent
        again every 0.1 s while the store cannot take it, as the widget sends it again."""
        async with httpx.AsyncClient(base_url=self.base, timeout=10,
                                     transport=httpx.AsyncHTTPTransport(local_address=address)) as client:
            created = await until_accepted(client, "/api/conversations", {})
            token = {"X-Conversation-Token": created["token"]}
            path = f"/api/conversations/{created['conversation_id']}/messages"
            message = {"id": uuid.uuid4().hex, "text": "How do I reset my password?"}
            await until_accepted(client, path, message, token)
            deadline = time.monotonic() + PATIENCE
            while time.monotonic() < deadline:
                try:
                    response = await client.get(path, headers=token)
                    if response.status_code == 200 and any(m["role"] != "customer"
                                                            for m in response.json()["messages"]):
                        return time.monotonic() - since
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            raise TimeoutError(f"no answer within {PATIENCE} s")


PATIENCE = 90.0  # seconds a store gets to come back before the test fails instead of waiting on


async def until_accepted(client: httpx.AsyncClient, path: str, body: dict[str, Any],
                         headers: dict[str, str] | None = None, within: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            response = await client.post(path, json=body, headers=headers)
            if response.status_code in (201, 202):
                return dict(response.json())
            assert response.status_code in (429, 502, 503, 504), f"POST {path}: {response.status_code} {response.text}"
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError(f"POST {path} not accepted within {within} s")


@dataclass
class Run:
    figures: Figures
    answered_after: float  # seconds from the fault to the next answered question
    errors: list[str]
    seconds: float

    def report(self, fault: str) -> str:
        f = self.figures
        return (f"{fault}: next answer {self.answered_after:.1f} s after it; {f.conversations} conversations, "
                f"{f.sent} messages ({f.resends} sent again), {f.escalations} escalations, {f.handoffs} handoffs, "
                f"{f.socket_reconnects} socket reconnects in {self.seconds:.0f} s; lost {f.lost}, duplicated "
                f"{f.duplicated}, unanswered {f.unanswered}, failures {f.failures()}")


async def chat_through(stack: Stack, fault: Callable[[], object], rng: random.Random, *, customers: int = 6,
                       before: float = 6.0, after: float = 10.0) -> Run:
    """Customers chat (tests/topology/traffic.py) while `fault` strikes `before` seconds in; the run goes on
    `after` seconds more, then what they sent and saw is checked against the store and the agents' queue."""
    started = time.monotonic()
    everyone = [Customer(stack.base, f"127.0.0.{20 + i}", rng) for i in range(customers)]
    stop = asyncio.Event()
    running = [asyncio.create_task(c.run(stop)) for c in everyone]
    try:
        await asyncio.sleep(before)
        struck = time.monotonic()
        await asyncio.to_thread(fault)
        answered = await asyncio.wait_for(stack.answered_after(struck, "127.0.0.250"), 90)
        await asyncio.sleep(after)
    finally:
        stop.set()
        await asyncio.gather(*running, return_exceptions=True)
    escalated = {v.conversation_id for c in everyone for v in c.visits if v.escalated}
    deadline = time.monotonic() + 30
    queue = await stack.queue()
    while not escalated <= {h["conversation_id"] for h in queue} and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        queue = await stack.queue()
    figures = await account(everyone, queue, started)
    for customer in everyone:
        await customer.close()
    return Run(figures, answered, [e for c in everyone for e in c.errors], time.monotonic() - started)
