"""A per-sender limit on automatic answers: the last guard against autoresponders that send no RFC 3834
headers and answer every answer (a loop of one mail each way per second, otherwise)."""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis


class SenderLoopGuard:
    """At most `limit` mails from one address are answered per window; counted in Redis, so every process
    that receives mail (SMTP, IMAP, webhooks) counts together. A fixed window is enough: a loop sends far
    more than the limit in any window, a person far fewer."""

    def __init__(self, redis: Redis, prefix: str, *, limit: int, window_seconds: float) -> None:
        self.redis = redis
        self.prefix = prefix
        self.limit = limit
        self.window_seconds = max(1, int(window_seconds))

    def _key(self, address: str) -> str:
        digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()[:24]
        return f"{self.prefix}:email:sender:{digest}"

    async def allow(self, address: str) -> bool:
        """Count this mail; False once the sender is over the limit in the current window."""
        key = self._key(address)
        async with self.redis.pipeline(transaction=True) as pipe:  # the window starts with its first mail
            pipe.set(key, 0, ex=self.window_seconds, nx=True)  # not EXPIRE NX: that needs Redis 7
            pipe.incr(key)
            _, count = await pipe.execute()
        return int(count) <= self.limit
