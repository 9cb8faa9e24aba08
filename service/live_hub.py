"""One Redis pub/sub connection per process, fanned out to every live listener in it.

Each open widget and agent console listens to a channel. A connection per listener would take one from the
request pool for as long as the tab stays open, so a hundred tabs would starve every endpoint. Here a
process keeps one pub/sub connection of its own: a channel is subscribed on Redis while at least one local
listener wants it, and a reader task hands each message to those listeners' queues.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.errors import SubscriptionEnded

log = logging.getLogger(__name__)


class HubSubscription:
    """One listener's events, in a bounded queue: a listener that falls this far behind is ended rather than
    let the process's memory grow; its client reconnects and reads what it missed from the history."""

    def __init__(self, hub: LiveHub, channel: str, backlog: int) -> None:
        self.hub = hub
        self.channel = channel
        self._events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(backlog + 1)  # None: the end
        self.backlog = backlog
        self.ended: str | None = None  # why, once the hub can no longer deliver
        self.closed = False

    def deliver(self, event: dict[str, Any]) -> None:
        if self.ended is not None:
            return
        if self._events.qsize() >= self.backlog:
            self.end("the listener fell behind")
            return
        self._events.put_nowait(event)

    def end(self, reason: str) -> None:
        """Events queued before the end are still handed out, then SubscriptionEnded."""
        if self.ended is None:
            self.ended = reason
            self._events.put_nowait(None)  # the one slot kept free for it

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        try:
            while True:
                event = await self.get(timeout=3600.0)
                if event is not None:
                    yield event
        except SubscriptionEnded:
            return

    async def get(self, timeout: float) -> dict[str, Any] | None:
        """The next event, or None after `timeout` seconds of quiet; SubscriptionEnded once nothing more
        can come."""
        try:
            event = await asyncio.wait_for(self._events.get(), timeout)
        except TimeoutError:
            return None
        if event is None:
            self._events.put_nowait(None)  # every later call ends too
            raise SubscriptionEnded(self.channel, self.ended or "ended")
        return event

    async def close(self) -> None:
        """Idempotent; the channel is unsubscribed on Redis when its last local listener leaves."""
        if not self.closed:
            self.closed = True
            self.hub.release(self)


class LiveHub:
    """Subscriptions of every live listener in this process, on one pub/sub connection.

    When that connection breaks (Redis restarted, network gone) every listener ends with SubscriptionEnded
    and the next subscribe opens a fresh connection: the hub cannot know what was published in between,
    the listeners' clients can, reconnecting and reading the history after their last entry.
    """

    def __init__(self, redis: Redis, *, backlog: int = 256, heartbeat: float = 15.0,
                 confirm_timeout: float = 10.0, sharded: bool = False) -> None:
        self.redis = redis  # a client of its own: the pub/sub connection never counts against the request pool
        self.sharded = sharded  # SSUBSCRIBE: one primary of a Redis Cluster, its shard's channels only
        self._leaving: set[str] = set()  # shard channels unsubscribed on our request, not by a moved slot
        self.backlog = backlog
        self.heartbeat = heartbeat
        self.confirm_timeout = confirm_timeout
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._listeners: dict[str, set[HubSubscription]] = {}
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._idle: set[str] = set()  # channels whose last listener left, to unsubscribe
        self._lock = asyncio.Lock()  # one SUBSCRIBE / UNSUBSCRIBE exchange at a time
        self._chores: set[asyncio.Task[None]] = set()

    def listening(self) -> int:
        """Live listeners in this process (for health and metrics)."""
        return sum(len(listeners) for listeners in self._listeners.values())

    async def subscribe(self, channel: str) -> HubSubscription:
        """Returns once Redis confirmed the subscription, so nothing published afterwards is missed."""
        subscription = HubSubscription(self, channel, self.backlog)
        async with self._lock:
            listeners = self._listeners.setdefault(channel, set())
            listeners.add(subscription)
            if len(listeners) == 1:
                try:
                    await self._subscribe(channel)
                except BaseException:
                    subscription.closed = True
                    self.release(subscription)
                    raise
        return subscription

    async def _subscribe(self, channel: str) -> None:
        pubsub = await self._connected()
        confirmed = asyncio.get_running_loop().create_future()
        self._confirmations[channel] = confirmed
        try:
            await (pubsub.ssubscribe(channel) if self.sharded else pubsub.subscribe(channel))
            await asyncio.wait_for(asyncio.shield(confirmed), self.confirm_timeout)
        except TimeoutError:
            raise RedisTimeoutError(f"Redis did not confirm the subscription to {channel} in time") from None
        finally:
            self._confirmations.pop(channel, None)

    async def _connected(self) -> PubSub:
        if self._pubsub is None:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.connect()
            except BaseException:
                await pubsub.aclose()
                raise
            # Only the reader task reads this connection. redis-py's health check would read its PING's answer
            # on the task sending a command (a SUBSCRIBE while subscribed to nothing), beside the reader: "read()
            # called while another coroutine is already waiting". The reader sends that PING instead (_read).
            if pubsub.connection is not None:
                pubsub.connection.health_check_interval = 0
            self._pubsub = pubsub
            self._reader = asyncio.create_task(self._read(pubsub), name="live-hub-reader")
        return self._pubsub

    def release(self, subscription: HubSubscription) -> None:
        """Forget a listener at once (no await, so a cancelled caller cannot skip it); the UNSUBSCRIBE
        follows in a task of the hub's own."""
        listeners = self._listeners.get(subscription.channel)
        if listeners is None or subscription not in listeners:
            return
        listeners.discard(subscription)
        if not listeners:
            del self._listeners[subscription.channel]
            self._idle.add(subscription.channel)
            chore = asyncio.get_running_loop().create_task(self._unsubscribe_idle())
            self._chores.add(chore)
            chore.add_done_callback(self._chores.discard)

    async def _unsubscribe_idle(self) -> None:
        async with self._lock:
            idle = sorted(c for c in self._idle if c not in self._listeners)
            self._idle.clear()
            if self._pubsub is None or not idle:
                return
            try:
                if self.sharded:
                    self._leaving.update(idle)
                    await self._pubsub.sunsubscribe(*idle)
                else:
                    await self._pubsub.unsubscribe(*idle)
            except RedisError:  # the connection broke: the reader ends it, and its subscriptions with it
                log.warning("live hub: unsubscribe failed", exc_info=True)

    async def _read(self, pubsub: PubSub) -> None:
        try:
            while True:
                raw = await pubsub.get_message(timeout=self.heartbeat)
                if raw is None:  # quiet that long: a broken connection fails the PING, its PONG is read here
                    await pubsub.ping()
                else:
                    self._dispatch(raw)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the connection broke: everyone listening on it has to start over
            log.warning("live hub: pub/sub connection lost (%s); ending %d listener(s)", error, self.listening())
            await self._lost(pubsub, error)

    def _dispatch(self, raw: dict[str, Any]) -> None:
        kind, channel = raw.get("type"), raw.get("channel")
        if kind in ("subscribe", "ssubscribe"):
            confirmed = self._confirmations.get(str(channel))
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)
        elif kind == "sunsubscribe" and str(channel) in self._leaving:
            self._leaving.discard(str(channel))
        elif kind == "sunsubscribe":  # the slot moved to another primary: this one publishes nothing more there
            for listener in self._listeners.pop(str(channel), set()):
                listener.end("the channel's slot moved to another Redis primary")
        elif kind in ("message", "smessage"):
            listeners = self._listeners.get(str(channel))
            if not listeners:
                return
            try:
                event = json.loads(raw["data"])
            except ValueError:
                log.warning("live hub: dropped a message on %s that is not JSON", channel)
                return
            for listener in list(listeners):
                listener.deliver(event)

    async def _lost(self, pubsub: PubSub, error: BaseException) -> None:
        if self._pubsub is not pubsub:  # already replaced: its listeners were ended then
            await self._close_quietly(pubsub)
            return
        self._pubsub, self._reader = None, None
        for confirmed in self._confirmations.values():
            if not confirmed.done():
                confirmed.set_exception(RedisConnectionError(f"pub/sub connection lost: {error}"))
        listeners, self._listeners = self._listeners, {}
        self._idle.clear()
        for channel_listeners in listeners.values():
            for listener in channel_listeners:
                listener.end("the connection to Redis was lost")
        await self._close_quietly(pubsub)

    @staticmethod
    async def _close_quietly(pubsub: PubSub) -> None:
        try:
            await pubsub.aclose()
        except Exception:  # already broken; closing is best effort
            log.debug("live hub: closing a broken pub/sub connection failed", exc_info=True)

    async def close(self) -> None:
        """At shutdown: end every listener and close the connection."""
        reader, pubsub = self._reader, self._pubsub
        if reader is not None:
            reader.cancel()
        for chore in list(self._chores):
            chore.cancel()
        if pubsub is not None:
            await self._lost(pubsub, RedisConnectionError("the process is shutting down"))
        await self.redis.aclose()


class ShardedLiveHub:
    """Live listeners on a Redis Cluster: a LiveHub on sharded pub/sub per primary, each channel on the primary
    that holds its slot (a conversation's channel carries its hash tag, so its messages are published there
    by the same scripts that store them). A primary that dies ends its listeners as a lost connection does;
    their clients subscribe again, and the next subscribe after a failure reads the cluster's slots afresh,
    finding the replica promoted in its place."""

    def __init__(self, cluster: RedisCluster, **hub_options: Any) -> None:
        self.cluster = cluster  # for the slot map; every hub has a connection of its own
        self.hub_options = hub_options
        self._hubs: dict[str, LiveHub] = {}
        self._stale = False
        self._refresh = asyncio.Lock()

    def listening(self) -> int:
        return sum(hub.listening() for hub in self._hubs.values())

    async def subscribe(self, channel: str) -> HubSubscription:
        try:
            return await (await self._hub(channel)).subscribe(channel)
        except (RedisError, OSError):  # the primary is gone or no longer holds the slot: ask the cluster, once
            self._stale = True
            try:
                return await (await self._hub(channel)).subscribe(channel)
            except (RedisError, OSError):
                self._stale = True
                raise

    async def _hub(self, channel: str) -> LiveHub:
        async with self._refresh:
            if self._stale or not self.cluster.nodes_manager.slots_cache:
                await self.cluster.nodes_manager.initialize()
                self._stale = False
        node = self.cluster.nodes_manager.get_node_from_slot(self.cluster.keyslot(channel))
        hub = self._hubs.get(node.name)
        if hub is None:
            # the node's connection settings, without retries: a broken connection must end its listeners
            pool = ConnectionPool(connection_class=node.connection_class, max_connections=2,
                                  **{**node.connection_kwargs, "retry": Retry(NoBackoff(), 0)})
            hub = self._hubs[node.name] = LiveHub(Redis(connection_pool=pool), sharded=True, **self.hub_options)
        return hub

    async def close(self) -> None:
        for hub in list(self._hubs.values()):
            await hub.close()
        await self.cluster.aclose()


Hub = LiveHub | ShardedLiveHub


def live_hub_for(redis: Redis | RedisCluster, **options: Any) -> Hub:
    """The hub for a client of the live hub's own (service/redis_clients.py)."""
    if isinstance(redis, RedisCluster):
        return ShardedLiveHub(redis, **options)
    return LiveHub(redis, **options)
