"""The live hub's one pub/sub connection, against the real Redis, with the client options the service builds.

Only the hub's reader task reads from that connection. A widget that connects after every listener of the
process had left (the connection open, subscribed to nothing) must not make redis-py read from it as well: it
did, for its health check, and the handshake answered 500 ("read() called while another coroutine is already
waiting for incoming data"). And Redis 7.0 does not know redis-py's CLIENT MAINT_NOTIFICATIONS handshake, which
our clients must not send.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from service.container import build_live_redis, build_redis
from service.live_hub import LiveHub
from service.settings import Settings

HEALTH_CHECK_SECONDS = 1  # the service's 30 s, shortened so the check falls due within the test


async def test_a_listener_arriving_after_all_left_gets_its_messages(settings: Settings) -> None:
    client = build_live_redis(settings)
    client.connection_pool.connection_kwargs["health_check_interval"] = HEALTH_CHECK_SECONDS
    hub = LiveHub(client, heartbeat=5.0)
    publisher = build_redis(settings)
    try:
        first = await hub.subscribe(f"{settings.redis_prefix}:live:a")
        await first.close()
        deadline = time.monotonic() + 5
        while hub._idle or hub._lock.locked():  # the UNSUBSCRIBE went out: subscribed to nothing now
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await asyncio.sleep(HEALTH_CHECK_SECONDS + 0.5)

        channel = f"{settings.redis_prefix}:live:b"
        second = await hub.subscribe(channel)
        await publisher.publish(channel, '{"type": "typing"}')
        assert await second.get(timeout=5) == {"type": "typing"}
        await second.close()
    finally:
        await hub.close()
        await publisher.aclose()


@pytest.mark.parametrize("build", [build_live_redis, build_redis])
async def test_our_clients_skip_the_maintenance_handshake_redis_7_refuses(
        settings: Settings, build: object, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="redis")
    client = build(settings)  # type: ignore[operator]
    monitor_client = build_redis(settings)
    seen: list[str] = []
    try:
        async with monitor_client.monitor() as monitor:
            async def watch() -> None:
                async for command in monitor.listen():
                    seen.append(str(command.get("command", "")))

            watcher = asyncio.create_task(watch())
            await asyncio.sleep(0.2)
            hub = LiveHub(client)
            subscription = await hub.subscribe(f"{settings.redis_prefix}:live:m")
            await monitor_client.ping()
            await asyncio.sleep(0.3)
            await subscription.close()
            await hub.close()
            watcher.cancel()
    finally:
        await monitor_client.aclose()
    assert any("SUBSCRIBE" in command.upper() for command in seen)  # the monitor saw the hub's traffic
    assert not [c for c in seen if "MAINT_NOTIFICATIONS" in c.upper()]
    assert not [r for r in caplog.records if "maintenance notifications" in r.getMessage().lower()]
