"""Conversation state, handoff queue and journal in Redis, so any number of processes share them.

The same code runs against a configured Redis server and, in the embedded mode, against the Redis server the
process starts for itself or fakeredis in-process (service/embedded_redis.py); it needs Redis 6.2 or newer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError, WatchError

from bot.errors import AlreadyClaimed, ConversationNotFound, HandoffNotFound
from bot.store import Entry, Receipt, Received
from bot.types import ConversationState, Handoff, HandoffStatus, Message, Phase, now
from connectors.redis_slots import clustered, tag
from service.live_hub import Hub, HubSubscription, live_hub_for

log = logging.getLogger(__name__)

SEEN_TTL_SECONDS = 7 * 24 * 3600
JOURNAL_KINDS = ("turn", "review", "shadow", "csat", "confirmation", "first_human_reply")


@lru_cache(maxsize=4096)
def _stored_message(row: str) -> Message:
    """A history row as a Message. Rows never change once stored and Messages are frozen, so a recent row is
    parsed once: every turn reads its conversation's last two dozen rows again."""
    return Message.model_validate_json(row)


def _entries(first: int, rows: list[str]) -> list[Entry]:
    """History rows as entries, the first at position `first`."""
    return [Entry(seq=first + i, message=_stored_message(r)) for i, r in enumerate(rows)]


class Keys:
    """Key names. On a cluster (`cluster=True`) every key of a conversation carries its id as hash tag, so its
    scripts and transactions stay in its slot, and the handoff queue's keys share the tag `{handoffs}` (a
    handoff and the open list change in one step); elsewhere the names are the same without tags. An empty id
    gives the start the keys of its kind share, for scans."""

    def __init__(self, prefix: str, cluster: bool = False) -> None:
        if cluster and ("{" in prefix or "}" in prefix):
            raise ValueError(f"the key prefix {prefix!r} may not contain braces on a Redis Cluster")
        self.prefix = prefix
        self.cluster = cluster
        self._queue = "{handoffs}:" if cluster else ""

    def _of(self, cid: str) -> str:
        return tag(cid, self.cluster) if cid else ""

    def state(self, cid: str) -> str:
        return f"{self.prefix}:conv:{self._of(cid)}"

    def history(self, cid: str) -> str:
        return f"{self.prefix}:hist:{self._of(cid)}"

    def seen(self, cid: str, mid: str) -> str:
        return f"{self.prefix}:seen:{self._of(cid)}:{mid}"

    def lock(self, cid: str) -> str:
        return f"{self.prefix}:lock:{self._of(cid)}"

    def live(self, cid: str) -> str:
        return f"{self.prefix}:live:{self._of(cid)}"

    def handoff(self, hid: str) -> str:
        return f"{self.prefix}:handoff:{self._queue}{hid}"

    def claim(self, hid: str) -> str:
        return f"{self.prefix}:claim:{self._queue}{hid}"

    @property
    def open_handoffs(self) -> str:
        return f"{self.prefix}:handoffs:open" + (":{handoffs}" if self.cluster else "")

    @property
    def agents(self) -> str:
        return f"{self.prefix}:agents"

    def journal(self, kind: str) -> str:
        return f"{self.prefix}:journal:{kind}"

    @property
    def conversations(self) -> str:
        return f"{self.prefix}:conversations"


# A stored message goes to the conversation's live subscribers with its position, in the same step as its store,
# as {"type": "message", "seq": ..., "message": ...}. The scripts below share these two functions:
# `publish_message(channel, seq, row)`, and `append_message(history, state, channel, row, idle_ttl)`, which adds a
# message to a history that lives as long as its conversation (renewed with it, never longer), publishes it
# and returns its position.
MESSAGE_FUNCTIONS = """
local function publish_message(channel, seq, row)
  redis.call('PUBLISH', channel, '{"type": "message", "seq": ' .. seq .. ', "message": ' .. row .. '}')
end
local function append_message(history, state, channel, row, idle_ttl)
  local seq = redis.call('RPUSH', history, row)
  local ttl = redis.call('TTL', state)
  redis.call('EXPIRE', history, ttl > 0 and ttl or tonumber(idle_ttl))
  publish_message(channel, seq, row)
  return seq
end
"""

# Stored if and only if seen, in one step: a crash can leave a message stored and unanswered (the next
# delivery answers it), never seen and missing, nor stored twice. A new message is published with its
# position; the history's last ARGV[4] entries and the conversation's state come back with the receipt, so
# the turn needs no second read. A message for no conversation is not stored.
RECEIVE_SCRIPT = MESSAGE_FUNCTIONS + """
local state = redis.call('GET', KEYS[3])
if not state then return {'', 0, {}, ''} end
local found = redis.call('GET', KEYS[1])
if not found then
  redis.call('SET', KEYS[1], 'stored', 'EX', ARGV[2])
  append_message(KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[3])
end
local count = tonumber(ARGV[4])
local rows = {}
if count > 0 then rows = redis.call('LRANGE', KEYS[2], -count, -1) end
return {found or '', redis.call('LLEN', KEYS[2]), rows, state}
"""

# A turn's effect in one step: the state, the reply, the history's clock, the answered message's mark (KEYS[4],
# when given) and the reply's publication with its position.
COMMIT_SCRIPT = MESSAGE_FUNCTIONS + """
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
local seq = redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], ttl)
if KEYS[4] then redis.call('SET', KEYS[4], 'answered', 'EX', ARGV[4]) end
publish_message(KEYS[3], seq, ARGV[2])
return seq
"""

# A message added outside a turn (an agent's reply, a notice).
APPEND_SCRIPT = MESSAGE_FUNCTIONS + """
return append_message(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2])
"""


def sharded(script: str) -> str:
    """A script as it runs on a cluster: it publishes on the conversation's shard (SPUBLISH, Redis 7), where
    a plain PUBLISH would reach every node of the cluster."""
    return script.replace("redis.call('PUBLISH',", "redis.call('SPUBLISH',")


async def publish(redis: Redis, channel: str, event: dict[str, Any]) -> None:
    """An event to a channel's live listeners: sharded on a cluster, like the scripts' messages."""
    if clustered(redis):
        await redis.spublish(channel, json.dumps(event))
    else:
        await redis.publish(channel, json.dumps(event))


# A new conversation and its place in the index of conversations, in one step.
CREATE_SCRIPT = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
"""

# How long a write waits for its replicas (SUPPORTBOT_REDIS_WAIT_REPLICAS) before it counts as not kept.
REPLICA_WAIT_MS = 1000


class ReplicasBehind(RedisConnectionError):
    """The primary kept a write that no replica confirmed in time: it is not acknowledged (the API answers 503
    and the client sends it again; every write so confirmed is idempotent), so a failover cannot lose it."""


async def run_script(redis: Redis, wait_replicas: int, script: str, keys: list[str], *args: Any) -> Any:
    """EVAL, followed on the same connection by WAIT when replicas must confirm the write (a cluster routes
    commands by key, so there the write is acknowledged at once)."""
    if not wait_replicas or clustered(redis):
        return await redis.eval(script, len(keys), *keys, *args)  # type: ignore[misc]
    async with redis.pipeline(transaction=False) as pipe:
        pipe.eval(script, len(keys), *keys, *args)
        pipe.execute_command("WAIT", wait_replicas, REPLICA_WAIT_MS)
        result, confirmed = await pipe.execute()
    if int(confirmed) < wait_replicas:
        raise ReplicasBehind(f"{confirmed} of {wait_replicas} replica(s) confirmed the write in {REPLICA_WAIT_MS} ms")
    return result


async def _renew(lock: Lock, every: float, done: asyncio.Event) -> None:
    """Extend the lease until `done`. Stopped by an event, not by cancelling: redis-py may swallow a
    cancellation that arrives mid-command, and the renewal would then outlive its turn."""
    while True:
        try:
            await asyncio.wait_for(done.wait(), every)
            return
        except TimeoutError:
            pass
        try:
            await lock.reacquire()
        except LockError:  # taken over after a stall longer than the lease; the holder is told on release
            log.warning("conversation lock %s lost while held", lock.name)
            return


class ProcessLocks:
    """Turn locks for a store only this process can reach (the embedded one): an asyncio lock per conversation.
    A Redis lease costs a SET, a Lua release and a renewal task per turn, to guard against other processes
    and dead holders; here there are neither."""

    def __init__(self, wait: float = 60.0) -> None:
        self.wait = wait
        self._held: dict[str, tuple[asyncio.Lock, int]] = {}  # lock and how many turns hold or wait for it

    @asynccontextmanager
    async def __call__(self, conversation_id: str) -> AsyncIterator[None]:
        lock, users = self._held.get(conversation_id, (asyncio.Lock(), 0))
        self._held[conversation_id] = (lock, users + 1)
        try:
            try:
                async with asyncio.timeout(self.wait):
                    await lock.acquire()
            except TimeoutError:
                raise LockError(f"conversation {conversation_id} stayed locked for {self.wait:.0f} s") from None
            try:
                yield
            finally:
                lock.release()
        finally:
            lock, users = self._held[conversation_id]
            if users == 1:
                del self._held[conversation_id]
            else:
                self._held[conversation_id] = (lock, users - 1)


class RedisConversationStore:
    """Conversations expire when left alone: `idle_ttl` seconds after their last change when the bot alone
    handled them (a visitor who opened the widget and left), `kept_ttl` once a person was involved (a
    handoff or an agent), so agents' work stays for the retention period. Every change renews the clock."""

    def __init__(self, redis: Redis, prefix: str = "sb", lock_timeout: float = 10.0, *, lock_wait: float = 60.0,
                 idle_ttl: int = 72 * 3600, kept_ttl: int = 365 * 24 * 3600, live: Hub | None = None,
                 process_locks: ProcessLocks | None = None, wait_replicas: int = 0) -> None:
        self.redis = redis
        self.wait_replicas = wait_replicas  # replicas that confirm a write before it is acknowledged
        self.process_locks = process_locks  # set when no other process shares this Redis
        self.live = live or live_hub_for(redis)
        self.keys = Keys(prefix, clustered(redis))
        self.scripts = {name: sharded(script) if self.keys.cluster else script for name, script in
                        (("receive", RECEIVE_SCRIPT), ("commit", COMMIT_SCRIPT), ("append", APPEND_SCRIPT))}
        self.lock_timeout = lock_timeout
        self.lock_wait = lock_wait
        self.idle_ttl = idle_ttl
        self.kept_ttl = kept_ttl

    def _ttl(self, state: ConversationState) -> int:
        return self.kept_ttl if state.handoff_id or state.agent else self.idle_ttl

    async def create(self, state: ConversationState) -> None:
        if self.keys.cluster:  # the index and the state live in different slots: the state first
            await self.redis.set(self.keys.state(state.id), state.model_dump_json(), ex=self._ttl(state))
            await self.redis.zadd(self.keys.conversations, {state.id: state.created_at})
            return
        await run_script(self.redis, self.wait_replicas, CREATE_SCRIPT,
                         [self.keys.state(state.id), self.keys.conversations], state.model_dump_json(),
                         self._ttl(state), state.created_at, state.id)

    async def load(self, conversation_id: str) -> ConversationState | None:
        raw = await self.redis.get(self.keys.state(conversation_id))
        return ConversationState.model_validate_json(raw) if raw else None

    async def save(self, state: ConversationState) -> None:
        ttl = self._ttl(state)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(self.keys.state(state.id), state.model_dump_json(), ex=ttl)
            pipe.expire(self.keys.history(state.id), ttl)
            await pipe.execute()

    async def commit(self, state: ConversationState, reply: Message, answered: str | None = None) -> Entry:
        keys = [self.keys.state(state.id), self.keys.history(state.id), self.keys.live(state.id)]
        if answered is not None:
            keys.append(self.keys.seen(state.id, answered))
        seq = await run_script(self.redis, self.wait_replicas, self.scripts["commit"], keys,
                               state.model_dump_json(), reply.model_dump_json(), self._ttl(state), SEEN_TTL_SECONDS)
        return Entry(seq=int(seq), message=reply)

    async def append(self, message: Message) -> Entry:
        cid = message.conversation_id
        seq = await run_script(self.redis, self.wait_replicas, self.scripts["append"],
                               [self.keys.history(cid), self.keys.state(cid), self.keys.live(cid)],
                               message.model_dump_json(), self.idle_ttl)
        return Entry(seq=int(seq), message=message)

    async def history(self, conversation_id: str, after: int = 0, limit: int | None = None) -> list[Entry]:
        after = max(0, after)
        rows = await self.redis.lrange(self.keys.history(conversation_id), after,
                                       after + limit - 1 if limit else -1)
        return _entries(after + 1, rows)

    async def tail(self, conversation_id: str, count: int) -> list[Entry]:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.llen(self.keys.history(conversation_id))
            pipe.lrange(self.keys.history(conversation_id), -count, -1)
            length, rows = await pipe.execute()
        return _entries(int(length) - len(rows) + 1, rows)

    async def receive(self, message: Message, recent: int = 0) -> Received:
        cid = message.conversation_id
        found, length, rows, raw_state = await run_script(
            self.redis, self.wait_replicas, self.scripts["receive"],
            [self.keys.seen(cid, message.id), self.keys.history(cid), self.keys.state(cid), self.keys.live(cid)],
            message.model_dump_json(), SEEN_TTL_SECONDS, self.idle_ttl, max(0, recent))
        if not raw_state:
            raise ConversationNotFound(cid)
        entries = _entries(int(length) - len(rows) + 1, rows)
        state = ConversationState.model_validate_json(raw_state)
        if not found:
            return Received(Receipt.NEW, entries, state)
        # "1" was written before answered and stored were told apart: it meant handled
        return Received(Receipt.UNANSWERED if found == "stored" else Receipt.ANSWERED, entries, state)

    async def mark_answered(self, conversation_id: str, message_id: str) -> None:
        await self.redis.set(self.keys.seen(conversation_id, message_id), "answered", ex=SEEN_TTL_SECONDS)

    @asynccontextmanager
    async def lock(self, conversation_id: str) -> AsyncIterator[None]:
        """A lease of `lock_timeout` seconds, renewed every third of it while the holder lives: a dead
        holder's lock frees itself that soon, a live turn keeps it however long its model takes."""
        if self.process_locks is not None:
            async with self.process_locks(conversation_id):
                yield
            return
        lock = self.redis.lock(self.keys.lock(conversation_id), timeout=self.lock_timeout,
                               blocking_timeout=self.lock_wait)
        async with lock:
            done = asyncio.Event()
            renewal = asyncio.create_task(_renew(lock, self.lock_timeout / 3, done))
            try:
                yield
            finally:
                done.set()
                await renewal

    async def publish_event(self, conversation_id: str, event: dict[str, Any]) -> None:
        await publish(self.redis, self.keys.live(conversation_id), event)

    async def subscribe(self, conversation_id: str) -> HubSubscription:
        return await self.live.subscribe(self.keys.live(conversation_id))

    async def recent(self, limit: int = 100, offset: int = 0) -> list[str]:
        """Conversation ids, newest first, from position `offset` (paging through the index)."""
        return [c if isinstance(c, str) else c.decode()
                for c in await self.redis.zrevrange(self.keys.conversations, offset, offset + limit - 1)]


# Stored and listed as open in one step: a resolve can never fall between the two and leave a resolved
# handoff in the open list.
OPEN_SCRIPT = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
  return 1
end
return 0
"""


def _give(handoff: Handoff, agent: str) -> bool:
    """Claimed by `agent`, unless it was resolved meanwhile (a resolved handoff stays resolved)."""
    if handoff.status is HandoffStatus.RESOLVED:
        return False
    handoff.status, handoff.claimed_by, handoff.claimed_at = HandoffStatus.CLAIMED, agent, now()
    return True


class RedisHandoffQueue:
    """Handoffs are kept for the retention period after their last change, like the conversations they
    belong to."""

    def __init__(self, redis: Redis, prefix: str = "sb", *, retention: int = 365 * 24 * 3600,
                 live: Hub | None = None, wait_replicas: int = 0) -> None:
        self.redis = redis
        self.keys = Keys(prefix, clustered(redis))
        self.wait_replicas = wait_replicas
        self.retention = retention
        self.live = live or live_hub_for(redis)

    async def open(self, handoff: Handoff) -> bool:
        created = await run_script(self.redis, self.wait_replicas, OPEN_SCRIPT,
                                   [self.keys.handoff(handoff.id), self.keys.open_handoffs],
                                   handoff.model_dump_json(), self.retention, handoff.created_at, handoff.id)
        return bool(created)

    async def get(self, handoff_id: str) -> Handoff | None:
        raw = await self.redis.get(self.keys.handoff(handoff_id))
        return Handoff.model_validate_json(raw) if raw else None

    async def save(self, handoff: Handoff) -> None:
        """Write `handoff` as it is (the open list follows its status); a change that depends on the current
        value goes through `_change` instead."""

        def replace(current: Handoff) -> bool:
            for name in Handoff.model_fields:
                setattr(current, name, getattr(handoff, name))
            return True

        await self._change(handoff.id, replace)

    async def change(self, handoff_id: str, change: Callable[[Handoff], bool]) -> tuple[Handoff, bool]:
        return await self._change(handoff_id, change)

    async def _change(self, handoff_id: str, change: Callable[[Handoff], bool]) -> tuple[Handoff, bool]:
        """Read, change and write one handoff as one step (WATCH/MULTI, retried when another process wrote it
        in between), with the open list following its status in the same transaction. `change` edits the
        handoff in place and returns False to leave it as it was; the result says whether it was written."""
        key = self.keys.handoff(handoff_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        raise HandoffNotFound(handoff_id)
                    handoff = Handoff.model_validate_json(raw)
                    if not change(handoff):
                        return handoff, False
                    pipe.multi()
                    pipe.set(key, handoff.model_dump_json(), ex=self.retention)
                    if handoff.status is HandoffStatus.RESOLVED:
                        pipe.zrem(self.keys.open_handoffs, handoff_id)
                    await pipe.execute()
                    return handoff, True
                except WatchError:
                    continue

    async def claim(self, handoff_id: str, agent: str) -> Handoff:
        handoff = await self.get(handoff_id)
        if handoff is None:
            raise HandoffNotFound(handoff_id)
        if not await self.redis.set(self.keys.claim(handoff_id), agent, nx=True):
            winner = await self.redis.get(self.keys.claim(handoff_id))
            winner = winner.decode() if isinstance(winner, bytes) else winner
            if winner != agent:
                raise AlreadyClaimed(handoff_id, str(winner))
            return handoff
        handoff, _ = await self._change(handoff_id, lambda current: _give(current, agent))
        return handoff

    async def reassign(self, handoff_id: str, agent: str) -> Handoff:
        """Hand a claimed (or queued) handoff to another agent: an explicit decision, so no race to win."""
        if await self.get(handoff_id) is None:
            raise HandoffNotFound(handoff_id)
        await self.redis.set(self.keys.claim(handoff_id), agent)
        handoff, _ = await self._change(handoff_id, lambda current: _give(current, agent))
        return handoff

    async def resolve(self, handoff_id: str) -> None:
        def resolved(handoff: Handoff) -> bool:
            handoff.status = HandoffStatus.RESOLVED
            return True

        await self._change(handoff_id, resolved)

    async def remind(self, handoff_id: str, n: int) -> Handoff | None:
        def count(handoff: Handoff) -> bool:
            if handoff.status is not HandoffStatus.QUEUED or handoff.reminders >= n:
                return False
            handoff.reminders = n
            return True

        try:
            handoff, counted = await self._change(handoff_id, count)
        except HandoffNotFound:
            return None
        return handoff if counted else None

    async def unremind(self, handoff_id: str, n: int) -> None:
        def uncount(handoff: Handoff) -> bool:
            if handoff.reminders != n:
                return False
            handoff.reminders = n - 1
            return True

        await self._change(handoff_id, uncount)

    async def open_handoffs(self, category: str | None = None) -> list[Handoff]:
        ids = await self.redis.zrange(self.keys.open_handoffs, 0, -1)
        if not ids:
            return []
        # one round trip for the whole queue, not one per handoff
        raws = await self.redis.mget([self.keys.handoff(i if isinstance(i, str) else i.decode()) for i in ids])
        handoffs = [Handoff.model_validate_json(raw) for raw in raws if raw]
        return [h for h in handoffs if category is None or h.category == category]

    async def notify(self, event: dict[str, Any]) -> None:
        await publish(self.redis, self.keys.agents, {"at": now(), **event})

    async def subscribe(self) -> HubSubscription:
        return await self.live.subscribe(self.keys.agents)


class RedisJournal:
    """Append-only lists of events, one per kind, in time order. Entries older than the retention period
    are trimmed from the front as new ones arrive (at most once an hour per kind and process)."""

    TRIM_EVERY = 3600.0

    def __init__(self, redis: Redis, prefix: str = "sb", *, retention: float = 365 * 24 * 3600) -> None:
        self.redis = redis
        self.keys = Keys(prefix, clustered(redis))
        self.retention = retention
        self._trimmed: dict[str, float] = {}

    async def record(self, kind: str, data: dict[str, Any]) -> None:
        await self.redis.rpush(self.keys.journal(kind), json.dumps(data))
        if now() - self._trimmed.get(kind, 0.0) >= self.TRIM_EVERY:
            self._trimmed[kind] = now()
            await self.trim(kind, now() - self.retention)

    async def trim(self, kind: str, before: float) -> int:
        """Drop the entries recorded before `before` (a binary search over the time-ordered list)."""
        key = self.keys.journal(kind)
        low, high = 0, int(await self.redis.llen(key))
        while low < high:
            middle = (low + high) // 2
            raw = await self.redis.lindex(key, middle)
            if raw is not None and float(json.loads(raw).get("at", before)) < before:
                low = middle + 1
            else:
                high = middle
        if low:
            await self.redis.ltrim(key, low, -1)
        return low

    async def entries(self, kind: str) -> list[dict[str, Any]]:
        return [json.loads(r) for r in await self.redis.lrange(self.keys.journal(kind), 0, -1)]

    async def export(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for kind in JOURNAL_KINDS:
            out.extend({"kind": kind, **entry} for entry in await self.entries(kind))
        return out


class RedisPhaseOverrides:
    """Phases set in the console: a hash plus a version counter, so a turn costs one GET unless they changed."""

    def __init__(self, redis: Redis, prefix: str = "sb") -> None:
        self.redis = redis
        self.key = f"{prefix}:{tag('phases', clustered(redis))}"  # the hash and its version change together
        self.version_key = f"{self.key}:version"
        self._seen: tuple[str | None, dict[str, Phase]] = ("unread", {})

    async def load(self) -> dict[str, Phase]:
        stored = await self.redis.get(self.version_key)
        version = None if stored is None else str(stored)
        if version != self._seen[0]:
            raw = await self.redis.hgetall(self.key)
            phases = {str(k): Phase(str(v)) for k, v in raw.items() if str(v) in Phase._value2member_map_}
            self._seen = (version, phases)
        return dict(self._seen[1])

    async def set(self, category: str, phase: Phase) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key, category, phase.value)
            pipe.incr(self.version_key)
            await pipe.execute()


class RedisProvenFloors:
    """Confidence floors `supportbot report phases` proved (bot/ceiling.py): a hash plus a version counter, read
    like the phase overrides, so a turn costs one GET unless they changed."""

    def __init__(self, redis: Redis, prefix: str = "sb") -> None:
        self.redis = redis
        self.key = f"{prefix}:{tag('floors', clustered(redis))}"
        self.version_key = f"{self.key}:version"
        self._seen: tuple[str | None, dict[str, float]] = ("unread", {})

    async def load(self) -> dict[str, float]:
        stored = await self.redis.get(self.version_key)
        version = None if stored is None else str(stored)
        if version != self._seen[0]:
            raw = await self.redis.hgetall(self.key)
            self._seen = (version, {str(k): float(v) for k, v in raw.items()})
        return dict(self._seen[1])

    async def replace(self, floors: dict[str, float]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.key)
            if floors:
                pipe.hset(self.key, mapping={name: repr(float(floor)) for name, floor in floors.items()})
            pipe.incr(self.version_key)
            await pipe.execute()
