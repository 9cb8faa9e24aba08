"""How far a mailbox has been read, kept in Redis so a restart resumes where the last run stopped."""

from __future__ import annotations

from redis.asyncio import Redis


class UidCursor:
    """The last UID handled, valid only with the folder's UIDVALIDITY: when the server renumbers the folder
    (UIDVALIDITY changes) the old UID means nothing, and the caller falls back to the unseen messages."""

    def __init__(self, redis: Redis, prefix: str, mailbox_key: str) -> None:
        self.redis = redis
        self.key = f"{prefix}:imap:{mailbox_key}"

    async def last(self, uidvalidity: int) -> int | None:
        stored = await self.redis.hmget(self.key, ["uidvalidity", "uid"])  # type: ignore[misc]
        validity, uid = stored
        if validity is None or uid is None or int(validity) != uidvalidity:
            return None
        return int(uid)

    async def advance(self, uidvalidity: int, uid: int) -> None:
        await self.redis.hset(self.key, mapping={"uidvalidity": uidvalidity, "uid": uid})  # type: ignore[misc]
