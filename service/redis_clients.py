"""Every Redis client the processes use, built in one place from SUPPORTBOT_REDIS_URL.

Three ways to run the store, told apart by the URL's scheme:

- one server: `redis://host:6379/0` (or `rediss://`, `unix://`);
- Sentinel: `redis+sentinel://[:password@]host1:26379,host2:26379,host3:26379/<master_name>/<db>`: clients
  ask the sentinels for the primary and ask again when a connection to it fails, so a promoted replica is
  found without a restart;
- Cluster: `redis+cluster://[:password@]host1:7000,host2:7001,...`: any reachable nodes; the client learns the
  rest and follows slots as they move. Celery cannot use a cluster as broker (see `celery_broker`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import redis as sync_redis
from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.maint_notifications import MaintNotificationsConfig

from service.settings import Settings

SENTINEL_SCHEME = "redis+sentinel://"
CLUSTER_SCHEME = "redis+cluster://"

# Commands in flight at once on the embedded server: a backlog of turns under a flood holds one connection per
# command whose reply the loop has not read yet. Within the usual limit of 1,024 open files per process.
EMBEDDED_SERVER_CONNECTIONS = 512

# An in-process connection is a pair of Python objects, so fakeredis needs no bound on them; redis-py's
# default (100) answered a burst of a few hundred concurrent turns with "Too many connections" (503).
IN_PROCESS_CONNECTIONS = 1_000_000

_IN_PROCESS_SERVERS: dict[str, Any] = {}


@dataclass(frozen=True)
class RedisTarget:
    """SUPPORTBOT_REDIS_URL taken apart: `kind` is `single`, `sentinel` or `cluster`."""

    kind: str
    url: str
    hosts: list[tuple[str, int]] = field(default_factory=list)  # the sentinels, or the cluster's seed nodes
    master_name: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None


def parse_redis_url(url: str) -> RedisTarget:
    """Raises ValueError naming what is wrong, so a bad setting stops the start with a readable message."""
    kind = "sentinel" if url.startswith(SENTINEL_SCHEME) else "cluster" if url.startswith(CLUSTER_SCHEME) else ""
    if not kind:
        return RedisTarget("single", url)
    rest = url.partition("://")[2]
    credentials, _, rest = rest.rpartition("@")
    username, _, password = credentials.partition(":") if credentials else ("", "", "")
    location, _, path = rest.partition("/")
    hosts = []
    for item in filter(None, location.split(",")):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{url!r}: expected host:port, got {item!r}")
        hosts.append((host.strip("[]"), int(port)))
    if not hosts:
        raise ValueError(f"{url!r}: no hosts")
    parts = [p for p in path.split("/") if p]
    master_name, db = "", 0
    if kind == "sentinel":
        if not parts:
            raise ValueError(f"{url!r}: the master's name is missing ({SENTINEL_SCHEME}host:26379,.../NAME/DB)")
        master_name = unquote(parts[0])
        if len(parts) > 1:
            if not parts[1].isdigit():
                raise ValueError(f"{url!r}: the database must be a number, got {parts[1]!r}")
            db = int(parts[1])
    elif parts:
        raise ValueError(f"{url!r}: a cluster has one database and no path ({CLUSTER_SCHEME}host:7000,...)")
    return RedisTarget(kind, url, hosts, master_name, db, unquote(username) or None, unquote(password) or None)


def build_redis(settings: Settings) -> Redis:
    """The request pool: bounded, so a burst waits up to `redis_pool_timeout` for a free connection (then 503)
    instead of opening connections until Redis or the process runs out. The embedded server serves this
    process alone, so its bound is what one process's backlog can hold in flight, not a share of a Redis."""
    url = settings.redis_url or _embedded_server_url(settings)
    if not url:
        return _in_process_redis()
    target = parse_redis_url(url)
    options = _connection_options("supportbot", url)
    if target.kind == "cluster":
        return _cluster(target, settings.redis_max_connections, options)  # type: ignore[return-value]
    size = settings.redis_max_connections if settings.redis_url else EMBEDDED_SERVER_CONNECTIONS
    if target.kind == "sentinel":
        return _sentinel(target, options).master_for(
            target.master_name, connection_pool_class=BlockingSentinelConnectionPool, max_connections=size,
            timeout=settings.redis_pool_timeout)
    pool = BlockingConnectionPool.from_url(url, max_connections=size, timeout=settings.redis_pool_timeout,
                                           **options)
    return Redis(connection_pool=pool)


def build_live_redis(settings: Settings) -> Redis:
    """The live hub's own client: one pub/sub connection (a second only while a broken one is replaced).
    No retry: a broken connection must end its listeners, who may have missed messages meanwhile. On a
    cluster the hub opens one such connection per primary it listens on (service/live_hub.py)."""
    url = settings.redis_url or _embedded_server_url(settings)
    if not url:
        return _in_process_redis()
    target = parse_redis_url(url)
    options = {**_connection_options("supportbot-live", url), "retry": Retry(NoBackoff(), 0)}
    if target.kind == "cluster":
        return _cluster(target, 4, options)  # type: ignore[return-value]
    if target.kind == "sentinel":
        return _sentinel(target, options).master_for(target.master_name, max_connections=2)
    return Redis(connection_pool=ConnectionPool.from_url(url, max_connections=2, **options))


def build_sync_redis(url: str, **options: Any) -> Any:
    """A blocking client for tools and Celery signal handlers (counters), from the same URL."""
    target = parse_redis_url(url)
    if target.kind == "cluster":
        return sync_redis.RedisCluster(startup_nodes=[sync_redis.cluster.ClusterNode(h, p) for h, p in target.hosts],
                                       username=target.username, password=target.password, **options)
    if target.kind == "sentinel":
        sentinel = sync_redis.sentinel.Sentinel(target.hosts, sentinel_kwargs=_sentinel_kwargs(options),
                                                username=target.username, password=target.password,
                                                db=target.db, **options)
        return sentinel.master_for(target.master_name)
    return sync_redis.Redis.from_url(url, **options)


class BlockingSentinelConnectionPool(SentinelConnectionPool, BlockingConnectionPool):
    """The Sentinel pool (connections go to the primary the sentinels name now) with the request pool's bound:
    a burst waits for a free connection instead of opening more."""


def _sentinel(target: RedisTarget, options: dict[str, Any]) -> Sentinel:
    return Sentinel(target.hosts, sentinel_kwargs=_sentinel_kwargs(options), username=target.username,
                    password=target.password, db=target.db, **options)


def _sentinel_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    """Sentinels answer at once or not at all: a dead one costs a short timeout before the next is asked."""
    return {"socket_connect_timeout": 1, "socket_timeout": 1,
            **({"decode_responses": True} if options.get("decode_responses") else {})}


def _cluster(target: RedisTarget, connections_per_node: int, options: dict[str, Any]) -> RedisCluster:
    options = {k: v for k, v in options.items() if k != "retry"}
    return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in target.hosts],
                        username=target.username, password=target.password, max_connections=connections_per_node,
                        # a command that meets a dead primary or a moved slot reads the slots again and is tried
                        # again, a few times over about two seconds (a replica takes over after
                        # `cluster-node-timeout` and an election); then the request answers 503 and is sent again
                        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 6), **options)


def _embedded_server_url(settings: Settings) -> str | None:
    if settings.embedded_store == "memory":
        return None
    from service.embedded_redis import embedded_server_url

    return embedded_server_url(required=settings.embedded_store == "server")


def _connection_options(name: str, url: str) -> dict[str, Any]:
    # bounded connects: an unreachable Redis fails fast instead of hanging a request for minutes. A pooled
    # connection gone stale (Redis restarted since it was last used) fails its command; that command is tried
    # once more on a fresh connection, so a restart costs no request.
    options = {"decode_responses": True, "socket_connect_timeout": 5, "health_check_interval": 30,
               "client_name": name, "retry": Retry(NoBackoff(), 1),
               # redis-py's CLIENT MAINT_NOTIFICATIONS handshake is for Redis Enterprise / Cloud: Redis 7 refuses
               # it on every new connection. Off, so a connect is the same HELLO everywhere.
               "maint_notifications_config": MaintNotificationsConfig(enabled=False)}
    if not url.startswith("unix://"):  # TCP keepalive; a Unix socket has none (redis-py refuses the option)
        options["socket_keepalive"] = True
    return options


def _in_process_redis() -> Redis:
    import fakeredis

    server = _IN_PROCESS_SERVERS.setdefault("default", fakeredis.FakeServer())
    return fakeredis.aioredis.FakeRedis(server=server, decode_responses=True, max_connections=IN_PROCESS_CONNECTIONS)


def celery_broker(settings: Settings) -> tuple[str, dict[str, Any]]:
    """Celery's broker URL and the transport options it needs. A Sentinel store gives kombu's
    `sentinel://h1:26379;sentinel://h2:26379` with the master's name as an option; a cluster cannot carry
    Celery's queues (its transport keeps a queue's lists and indexes under keys no slot holds together)."""
    url = settings.celery_broker or "memory://"
    target = parse_redis_url(url) if url.startswith(("redis+", "redis:", "rediss:", "unix:")) else None
    if target is None or target.kind == "single":
        return url, {}
    if target.kind == "cluster":
        raise ValueError("a Redis Cluster cannot be Celery's broker: set SUPPORTBOT_BROKER_URL to a Redis Sentinel "
                         "(redis+sentinel://...) or RabbitMQ (amqp://...) broker")
    auth = f"{target.username or ''}:{target.password}@" if target.password else ""
    sentinels = ";".join(f"sentinel://{auth}{host}:{port}/{target.db}" for host, port in target.hosts)
    return sentinels, {"master_name": target.master_name,
                       "sentinel_kwargs": {"socket_connect_timeout": 1, "socket_timeout": 1}}
