"""Where each handoff sits in the agents channel, so buttons, updates and thread replies find their way.

Kept in the deployment's Redis under its prefix: the web process, the Socket Mode process and the workers all
see the same mapping.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

TTL_SECONDS = 30 * 24 * 3600


@dataclass
class HandoffPost:
    handoff_id: str
    conversation_id: str
    channel: str
    ts: str
    suggestion_sent: bool = False  # the bot's suggestion went out (approved or edited): no second send


class HandoffPosts:
    def __init__(self, redis: Redis, prefix: str = "sb") -> None:
        self.redis = redis
        self.prefix = f"{prefix}:slack"

    def _post(self, handoff_id: str) -> str:
        return f"{self.prefix}:post:{handoff_id}"

    def _thread(self, channel: str, ts: str) -> str:
        return f"{self.prefix}:thread:{channel}:{ts}"

    def _log(self, handoff_id: str) -> str:
        return f"{self.prefix}:log:{handoff_id}"

    async def save(self, post: HandoffPost) -> None:
        await self.redis.set(self._post(post.handoff_id), json.dumps(asdict(post)), ex=TTL_SECONDS)
        await self.redis.set(self._thread(post.channel, post.ts), post.handoff_id, ex=TTL_SECONDS)

    async def by_handoff(self, handoff_id: str) -> HandoffPost | None:
        raw = await self.redis.get(self._post(handoff_id))
        return HandoffPost(**json.loads(raw)) if raw else None

    async def by_thread(self, channel: str, ts: str) -> HandoffPost | None:
        handoff_id = await self.redis.get(self._thread(channel, ts))
        if not handoff_id:
            return None
        return await self.by_handoff(handoff_id.decode() if isinstance(handoff_id, bytes) else handoff_id)

    async def add_note(self, handoff_id: str, line: str) -> list[str]:
        """Append to the 'who did what' lines shown under the post; returns all of them."""
        key = self._log(handoff_id)
        await self.redis.rpush(key, line)
        await self.redis.expire(key, TTL_SECONDS)
        return await self.notes(handoff_id)

    async def notes(self, handoff_id: str) -> list[str]:
        return [
            n.decode() if isinstance(n, bytes) else n
            for n in await self.redis.lrange(self._log(handoff_id), 0, -1)
        ]
