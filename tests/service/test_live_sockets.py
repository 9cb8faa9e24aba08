"""Open widgets and consoles keep live sockets, and none of them may cost the API its Redis connections.

A real `supportbot serve` process on a Redis of the test's own, so its client list counts this API alone: more
sockets than the request pool holds leave the API answering; sockets that close, or fail before they are
relayed, leave no subscription and no connection behind.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
import websockets

from tests.browser.stack import spawn, stop
from tests.net import RedisServer, free_port, wait_healthy
from tests.waiting import eventually

pytestmark = pytest.mark.slow

POOL = 20                # the API's request pool, set small so that the sockets outnumber it many times
WIDGETS, CONSOLES = 150, 10
AGENT_TOKEN = "live-agent-token"


class Api:
    def __init__(self, base: str, redis_server: RedisServer) -> None:
        self.base = base
        self.ws_base = base.replace("http://", "ws://")
        self.probe = redis.Redis.from_url(redis_server.url, decode_responses=True)

    def connections(self) -> Counter[str]:
        """Clients of the test's Redis other than this probe (all of them the API process's), by name."""
        me = self.probe.client_id()
        return Counter(client["name"] for client in self.probe.client_list() if int(client["id"]) != me)

    def subscriptions(self) -> int:
        """Channel subscriptions held on the server, summed over every connection."""
        return sum(int(client["sub"]) for client in self.probe.client_list())


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp_path = tmp_path_factory.mktemp("live")
    with RedisServer(tmp_path, appendonly=False) as redis_server:
        port = free_port()
        env = {**os.environ, "SUPPORTBOT_REDIS_URL": redis_server.url, "SUPPORTBOT_REDIS_PREFIX": "live",
               "SUPPORTBOT_DATA_DIR": str(tmp_path / "data"), "SUPPORTBOT_AGENT_TOKEN": AGENT_TOKEN,
               "SUPPORTBOT_REDIS_MAX_CONNECTIONS": str(POOL),
               "SUPPORTBOT_LIVE_SOCKETS_PER_ADDRESS": str(WIDGETS),  # every widget here connects from 127.0.0.1
               "SUPPORTBOT_RATE_LIMITS": json.dumps({"conversations": "10000/minute", "live": "10000/minute",
                                                     "messages": "10000/minute"})}
        log = tmp_path / "server.log"
        server = spawn(["serve", "--port", str(port), "--log-level", "warning"], env, log)
        try:
            wait_healthy(f"http://127.0.0.1:{port}/healthz", [server], timeout=60, log=log)
            yield Api(f"http://127.0.0.1:{port}", redis_server)
        finally:
            stop(server)


async def new_conversation(http: httpx.AsyncClient) -> dict[str, str]:
    response = await http.post("/api/conversations", json={})
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def widget_url(api: Api, conversation: dict[str, str], after: int | str = 0) -> str:
    return (f"{api.ws_base}/api/conversations/{conversation['conversation_id']}/live"
            f"?token={conversation['token']}&after={after}")


async def say(http: httpx.AsyncClient, conversation: dict[str, str], text: str) -> httpx.Response:
    return await http.post(f"/api/conversations/{conversation['conversation_id']}/messages",
                           headers={"X-Conversation-Token": conversation["token"]}, json={"text": text})


async def next_event(socket: Any, kind: str) -> dict[str, Any]:
    while True:
        event = json.loads(await asyncio.wait_for(socket.recv(), timeout=30))
        if event.get("type") == kind:
            return event  # type: ignore[no-any-return]


async def test_more_live_sockets_than_the_pool_holds_leave_the_api_serving(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.base, timeout=30) as http:
        conversations = await asyncio.gather(*(new_conversation(http) for _ in range(WIDGETS)))
        widgets = await asyncio.gather(*(websockets.connect(widget_url(api, c)) for c in conversations))
        consoles = await asyncio.gather(*(websockets.connect(f"{api.ws_base}/api/agent/live?token={AGENT_TOKEN}")
                                          for _ in range(CONSOLES)))
        try:
            # every socket is subscribed on the server, each conversation's channel once
            await eventually(lambda: api.subscriptions() == WIDGETS + 1, timeout=30)
            # the request pool (rate limits included) and one shared pub/sub connection
            assert api.connections().total() <= POOL + 1, api.connections()

            health = await http.get("/healthz")
            assert health.status_code == 200, health.text
            first, last = conversations[0], conversations[-1]
            for conversation, socket in ((first, widgets[0]), (last, widgets[-1])):
                response = await say(http, conversation, "hello")
                assert response.status_code == 202, response.text
                reply = await next_event(socket, "message")
                assert reply["role"] == "customer" and reply["text"] == "hello"
            typing = await http.post(f"/api/conversations/{last['conversation_id']}/typing",
                                     headers={"X-Conversation-Token": last["token"]})
            assert typing.status_code == 200, typing.text
            for console in consoles:  # the agents' feed reaches every open console
                assert (await next_event(console, "typing"))["conversation_id"] == last["conversation_id"]
        finally:
            await asyncio.gather(*(s.close() for s in [*widgets, *consoles]))
        await eventually(lambda: api.subscriptions() == 0, timeout=30)
        assert api.connections().total() <= POOL + 1, api.connections()


async def test_sockets_that_close_or_fail_leave_no_subscription_behind(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.base, timeout=30) as http:
        conversation = await new_conversation(http)
        agent = {"Authorization": f"Bearer {AGENT_TOKEN}"}
        conversation_path = f"/api/agent/conversations/{conversation['conversation_id']}"
        assert (await http.post(f"{conversation_path}/takeover", headers=agent)).status_code == 200
        for n in range(30):  # a backlog to send, so that closing during it fails a send
            reply = await http.post(f"{conversation_path}/reply", headers=agent, json={"text": f"answer {n}"})
            assert reply.status_code == 200, reply.text

        async def open_and_drop(after: int | str, abort: bool = False) -> None:
            """Gone before the backlog is sent: politely (a close frame) or as a lost network does."""
            try:
                async with websockets.connect(widget_url(api, conversation, after), max_queue=None) as socket:
                    if abort:
                        socket.transport.abort()
            except websockets.exceptions.InvalidStatus:
                pass

        for _ in range(10):  # clients leaving mid-backlog
            await asyncio.gather(*(open_and_drop(0, abort=n % 2 == 1) for n in range(20)))
        await eventually(lambda: api.subscriptions() == 0, timeout=30)
        for after in ("100000000000000000000", "1e20", "-5"):  # offsets the store cannot read
            await open_and_drop(after)
        await eventually(lambda: api.subscriptions() == 0, timeout=30)
        assert api.connections().total() <= POOL + 1, api.connections()

        async with websockets.connect(widget_url(api, conversation)) as socket:  # still served, in full
            backlog = [(await next_event(socket, "message"))["text"] for _ in range(31)]
            assert backlog[1:] == [f"answer {n}" for n in range(30)]
        health = await http.get("/healthz")
        assert health.status_code == 200, health.text
