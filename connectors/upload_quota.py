"""How much the file store keeps of what customers upload: bytes per client address per hour, bytes per
conversation, and how long a file is kept that no message lists.

An upload comes before its message, so an upload nobody sends would otherwise stay for good; at the size
limit one address could write hundreds of MB a minute. The counts live in Redis, shared by every API process:
a customer's upload reserves its bytes against both quotas in one step before anything is written, and gives
them back if the write fails. Each upload is listed as unsent until its deadline; the next upload after that
(into any conversation) sweeps it: a file some message of its conversation lists is kept as long as the
conversation, any other is deleted and its bytes no longer count against the conversation.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.files import Attachment, AttachmentStore
from bot.store import ConversationStore
from connectors.redis_slots import clustered, tag

log = logging.getLogger(__name__)

# The address's hour and the conversation's bytes are reserved by one script each: on a Redis Cluster the two
# keys live in different slots, and one script may name keys of one slot only. The address goes first; a
# conversation that refuses gives the address's bytes back.

# KEYS: the address's uploads (a sorted set of "token:size" by time).
# ARGV: now, window, size, bytes per address, this upload's token.
# Answers {0} when reserved, {1, seconds until the address may send this many bytes}.
RESERVE_ADDRESS_SCRIPT = """
local now, window, size = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local per_address = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local uploads = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local used = 0
for i = 1, #uploads, 2 do used = used + tonumber(string.match(uploads[i], ':(%d+)$')) end
if used + size > per_address then
  local excess = used + size - per_address
  for i = 1, #uploads, 2 do
    excess = excess - tonumber(string.match(uploads[i], ':(%d+)$'))
    if excess <= 0 then return {1, tostring(tonumber(uploads[i + 1]) + window - now)} end
  end
  return {1, tostring(window)}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
redis.call('EXPIRE', KEYS[1], math.ceil(window))
return {0, '0'}
"""

# KEYS: the conversation's byte count. ARGV: size, bytes per conversation, the count's lifetime.
# Answers {0} when reserved or {2, bytes held}.
RESERVE_CONVERSATION_SCRIPT = """
local size = tonumber(ARGV[1])
local held = tonumber(redis.call('GET', KEYS[1]) or '0')
if held + size > tonumber(ARGV[2]) then return {2, tostring(held)} end
redis.call('INCRBY', KEYS[1], size)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {0, '0'}
"""

# Give bytes back to a conversation's count that still exists (an expired count is not brought back negative).
RELEASE_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECRBY', KEYS[1], ARGV[1]) end
"""


class QuotaExceeded(Exception):
    """An upload over a quota; nothing of it was kept. `retry_after` is set for the hourly address quota."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Reservation:
    address_key: str
    member: str
    conversation_id: str
    size: int


class UploadKeys:
    """On a Redis Cluster a conversation's keys carry its id as hash tag (with its other keys), and the two
    sweep indexes, which change together, the tag `{uploads}`."""

    def __init__(self, prefix: str, cluster: bool = False) -> None:
        self.prefix = prefix
        self.cluster = cluster

    def address(self, address: str) -> str:
        return f"{self.prefix}:uploads:from:{address}"

    def held(self, conversation_id: str) -> str:
        """Bytes of customers' uploads the conversation holds."""
        return f"{self.prefix}:uploads:bytes:{tag(conversation_id, self.cluster)}"

    def of(self, conversation_id: str) -> str:
        """Every upload into the conversation, sent or not: what an erase removes."""
        return f"{self.prefix}:uploads:of:{tag(conversation_id, self.cluster)}"

    @property
    def unsent(self) -> str:
        """Upload id -> the time it is deleted unless a message lists it."""
        return f"{self.prefix}:uploads:unsent" + (":{uploads}" if self.cluster else "")

    @property
    def about(self) -> str:
        """Upload id -> "bytes counted:conversation id", for the sweep."""
        return f"{self.prefix}:uploads:about" + (":{uploads}" if self.cluster else "")


class UploadLedger:
    SWEEP_BATCH = 100

    def __init__(self, redis: Any, prefix: str, files: AttachmentStore, conversations: ConversationStore, *,
                 bytes_per_address: int, bytes_per_conversation: int, unsent_seconds: float, kept_seconds: int,
                 window_seconds: float = 3600, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.keys = UploadKeys(prefix, clustered(redis))
        self.files = files
        self.conversations = conversations
        self.bytes_per_address = bytes_per_address
        self.bytes_per_conversation = bytes_per_conversation
        self.unsent_seconds = unsent_seconds
        self.kept_seconds = kept_seconds
        self.window_seconds = window_seconds
        self.clock = clock

    async def reserve(self, address: str, conversation_id: str, size: int) -> Reservation:
        """Count a customer's upload against its address's hour and its conversation, or raise
        `QuotaExceeded` having counted nothing."""
        reservation = Reservation(self.keys.address(address), f"{uuid.uuid4().hex}:{size}", conversation_id, size)
        verdict, value = await self.redis.eval(
            RESERVE_ADDRESS_SCRIPT, 1, reservation.address_key, self.clock(), self.window_seconds, size,
            self.bytes_per_address, reservation.member)
        if int(verdict) == 0:
            verdict, value = await self.redis.eval(RESERVE_CONVERSATION_SCRIPT, 1, self.keys.held(conversation_id),
                                                   size, self.bytes_per_conversation, self.kept_seconds)
            if int(verdict) != 0:
                await self.redis.zrem(reservation.address_key, reservation.member)
        if int(verdict) == 1:
            retry = max(1, round(float(value)))
            raise QuotaExceeded(f"uploads from this address are limited to {self.bytes_per_address / 1_048_576:g} "
                                f"MB per hour; retry in {retry} s", retry_after=retry)
        if int(verdict) == 2:
            raise QuotaExceeded(f"this conversation already holds {int(value) / 1_048_576:g} MB of files; it may "
                                f"hold {self.bytes_per_conversation / 1_048_576:g} MB")
        return reservation

    async def cancel(self, reservation: Reservation) -> None:
        """The write failed: the bytes were never kept, so they count against nothing."""
        await self.redis.zrem(reservation.address_key, reservation.member)
        await self.redis.eval(RELEASE_SCRIPT, 1, self.keys.held(reservation.conversation_id), reservation.size)

    async def kept(self, attachment: Attachment, counted: int) -> None:
        """The file is in the store: unsent until its deadline. `counted`: its bytes in the conversation's
        count (0 for an agent's file, which counts against no quota)."""
        conversation = self.keys.of(attachment.conversation_id)
        async with self.redis.pipeline(transaction=True) as pipe:  # listed first, so an erase finds it
            await pipe.sadd(conversation, attachment.id).expire(conversation, self.kept_seconds).execute()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self.keys.unsent, {attachment.id: self.clock() + self.unsent_seconds})
            pipe.hset(self.keys.about, attachment.id, f"{counted}:{attachment.conversation_id}")
            await pipe.execute()

    async def sweep(self) -> int:
        """Delete the files past their deadline that no message of their conversation lists; how many."""
        due = await self.redis.zrangebyscore(self.keys.unsent, "-inf", self.clock(), start=0, num=self.SWEEP_BATCH)
        listed: dict[str, set[str]] = {}
        deleted = 0
        for raw in due:
            attachment_id = raw if isinstance(raw, str) else raw.decode()
            if not await self.redis.zrem(self.keys.unsent, attachment_id):
                continue  # another process swept it
            about = await self.redis.hget(self.keys.about, attachment_id)
            await self.redis.hdel(self.keys.about, attachment_id)
            counted, _, conversation_id = (about.decode() if isinstance(about, bytes) else about or "0:").partition(":")
            if conversation_id not in listed:
                listed[conversation_id] = {a.id for entry in await self.conversations.history(conversation_id)
                                           for a in entry.message.attachments}
            if attachment_id in listed[conversation_id]:
                continue  # sent: kept as long as its conversation
            try:
                await self.files.delete(attachment_id)
            except OSError:
                log.warning("expired upload %s not deleted", attachment_id, exc_info=True)
                continue
            deleted += 1
            await self.redis.srem(self.keys.of(conversation_id), attachment_id)
            if int(counted):
                await self.redis.eval(RELEASE_SCRIPT, 1, self.keys.held(conversation_id), int(counted))
        return deleted


async def forget_uploads(redis: Any, prefix: str, conversation_id: str) -> set[str]:
    """The ids of every upload into the conversation, its counts and unsent marks removed (for an erase)."""
    keys = UploadKeys(prefix, clustered(redis))
    ids = {m if isinstance(m, str) else m.decode() for m in await redis.smembers(keys.of(conversation_id))}
    if ids:  # the sweep's indexes first: a file they no longer list is one the sweep leaves alone
        async with redis.pipeline(transaction=True) as pipe:
            await pipe.zrem(keys.unsent, *ids).hdel(keys.about, *ids).execute()
    async with redis.pipeline(transaction=True) as pipe:
        await pipe.delete(keys.of(conversation_id), keys.held(conversation_id)).execute()
    return ids
