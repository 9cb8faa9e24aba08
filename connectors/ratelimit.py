"""Rate limits for the public widget API and the console sign-in, per client address and per conversation.

Counted by the `limits` library in a sliding window counter, in Redis (shared by every API process) or in
memory in the embedded mode: two counters per key and window, the previous window's weighted by how much of it
the sliding window still covers. A moving window logs every hit, and its in-memory storage walks every counted
key after each hit, a thread hop per key, on the event loop that serves the turns. The in-memory storage also
sweeps every counted key for expired ones after each hit; here that sweep runs at most once a second.

Over a limit the answer is 429 with Retry-After; the widget keeps the message in its outbox and sends it
again after that. The client address is the socket's peer, or, behind a reverse proxy the deployment trusts,
the first address of the header it names (SUPPORTBOT_TRUSTED_PROXY_HEADER).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request, WebSocket
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisClusterStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from connectors.redis_slots import clustered

if TYPE_CHECKING:
    from service.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_LIMITS = {
    "conversations": "30/minute",             # new conversations per address
    "messages": "120/minute",                 # customer messages per address
    "messages_per_conversation": "30/minute",
    "uploads": "60/minute",                   # files per address
    "uploads_per_conversation": "20/minute",
    "typing": "120/minute",
    "feedback": "20/minute",
    "live": "60/minute",                      # WebSocket connects per address
    "login": "30/minute",                     # console sign-in attempts per address, whatever the name
    "action_calls": "10/10 minutes",          # calls of actions per conversation (over it: a handoff)
}


class SweptMemoryStorage(MemoryStorage):
    """The library's in-memory storage, its sweep of expired counters started at most once a second. It started
    one after every hit, each over every counted key: with 10,000 keys a hit cost 0.8 ms of the event loop, with
    50,000 4.7 ms, and a flood of new addresses or conversations drives that count up. An expired counter is
    still never counted (reading a key drops it when expired); the sweep only gives the memory back."""

    SWEEP_EVERY_SECONDS = 1.0
    _swept_at = float("-inf")

    async def _MemoryStorage__schedule_expiry(self) -> None:  # the library's private hook, called on each hit
        if time.monotonic() - self._swept_at < self.SWEEP_EVERY_SECONDS:
            return
        self._swept_at = time.monotonic()
        await super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]


class RateLimits:
    def __init__(self, storage: Storage, rules: dict[str, str], *, proxy_header: str | None = None) -> None:
        unknown = set(rules) - set(DEFAULT_LIMITS)
        if unknown:
            raise ValueError(f"unknown rate limit(s) {sorted(unknown)}; known: {sorted(DEFAULT_LIMITS)}")
        self.items: dict[str, RateLimitItem] = {name: parse(rule) for name, rule in {**DEFAULT_LIMITS,
                                                                                      **rules}.items()}
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.proxy_header = proxy_header.lower() if proxy_header else None

    @classmethod
    def from_settings(cls, settings: "Settings", redis: Any = None) -> "RateLimits":
        """`redis`: the process's Redis client, whose bounded pool the counts use (else the library opens its
        own). On a Redis Cluster the library's cluster storage counts, from the same nodes: it keeps a key's
        two windows in one slot (a hash tag around the key)."""
        storage: Storage = SweptMemoryStorage()
        if settings.redis_url and clustered(redis):
            storage = RedisClusterStorage(f"async+{settings.redis_url}", implementation="redispy",
                                          key_prefix=f"{settings.redis_prefix}:rl")
        elif settings.redis_url:
            pool = {"connection_pool": redis.connection_pool} if redis is not None else {}
            storage = RedisStorage(f"async+{settings.redis_url}", implementation="redispy",
                                   key_prefix=f"{settings.redis_prefix}:rl", **pool)
        return cls(storage, settings.rate_limits, proxy_header=settings.trusted_proxy_header)

    def address(self, connection: Request | WebSocket) -> str:
        if self.proxy_header and (forwarded := connection.headers.get(self.proxy_header)):
            return forwarded.split(",")[0].strip()
        return connection.client.host if connection.client else "unknown"

    async def allows(self, rule: str, key: str) -> bool:
        """Count one hit; False when it is over the limit (for callers that do not answer HTTP themselves)."""
        try:
            return await self.limiter.hit(self.items[rule], rule, key)
        except Exception:  # as in `check`: an unavailable store counts nothing and refuses nothing
            log.warning("rate limit %s not checked: storage unavailable", rule, exc_info=True)
            return True

    async def check(self, rule: str, key: str) -> None:
        """Count one hit; over the limit raises 429 with the seconds until the window lets one through."""
        item = self.items[rule]
        try:
            if await self.limiter.hit(item, rule, key):
                return
            stats = await self.limiter.get_window_stats(item, rule, key)
        except Exception:  # the store is down: the endpoints say so themselves; limits must not add a 500
            log.warning("rate limit %s not checked: storage unavailable", rule, exc_info=True)
            return
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        raise HTTPException(429, f"too many requests ({rule}); retry in {retry} s",
                            headers={"Retry-After": str(retry)})

    def per_address(self, rule: str) -> Callable[[Request], Awaitable[None]]:
        """A FastAPI dependency counting one `rule` hit for the caller's address."""

        async def dependency(request: Request) -> None:
            await self.check(rule, self.address(request))

        return dependency
