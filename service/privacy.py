"""Everything held about one customer, exported or erased on request (GDPR articles 15 and 17).

A customer is named by the id their channel gives them: the email address for mail, the Slack user id, the
Rasa sender id, the widget's visitor id. Their conversations are found by that id; with them go the
histories, delivery marks, handoffs, every journal entry of those conversations and every file in them (the
files their messages list, sent or received, and uploads never sent). An erase leaves an audit entry with
counts only, no personal data.

An id is data, never a pattern: `*` as a Rasa sender id names one customer, so every id that goes into a key
pattern is escaped (connectors/redis_glob.py).
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from bot.files import AttachmentStore
from bot.types import now
from connectors.redis_glob import literal
from connectors.redis_slots import clustered
from connectors.upload_quota import forget_uploads
from service.redis_store import JOURNAL_KINDS, Keys


class CustomerRecords:
    def __init__(self, redis: Redis, prefix: str = "sb", *, files: AttachmentStore) -> None:
        self.redis = redis
        self.prefix = prefix
        self.keys = Keys(prefix, clustered(redis))
        self.files = files

    async def _scan(self, start: str) -> list[str]:
        """Every key that starts with `start`, taken literally."""
        pattern = literal(start) + "*"
        return [k if isinstance(k, str) else k.decode() async for k in self.redis.scan_iter(match=pattern, count=500)]

    async def _conversations(self, customer: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for key in await self._scan(self.keys.state("")):
            raw = await self.redis.get(key)
            state = json.loads(raw) if raw else None
            if state and state.get("customer", {}).get("id") == customer:
                found[state["id"]] = state
        return found

    async def _handoffs(self, conversation_ids: set[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for key in await self._scan(self.keys.handoff("")):
            raw = await self.redis.get(key)
            handoff = json.loads(raw) if raw else None
            if handoff and handoff.get("conversation_id") in conversation_ids:
                found[handoff["id"]] = handoff
        return found

    async def _journal(self, conversation_ids: set[str]) -> list[tuple[str, str, dict[str, Any]]]:
        out = []
        for kind in JOURNAL_KINDS:
            for raw in await self.redis.lrange(self.keys.journal(kind), 0, -1):
                entry = json.loads(raw)
                if entry.get("conversation_id") in conversation_ids:
                    out.append((kind, raw if isinstance(raw, str) else raw.decode(), entry))
        return out

    async def export(self, customer: str) -> dict[str, Any]:
        conversations = await self._conversations(customer)
        ids = set(conversations)
        handoffs = await self._handoffs(ids)
        return {
            "customer": customer,
            "conversations": [
                {"state": state,
                 "messages": [json.loads(m) for m in await self.redis.lrange(self.keys.history(cid), 0, -1)],
                 "handoffs": [h for h in handoffs.values() if h["conversation_id"] == cid]}
                for cid, state in sorted(conversations.items())],
            "journal": [{"kind": kind, **entry} for kind, _, entry in await self._journal(ids)],
        }

    async def erase(self, customer: str) -> dict[str, int]:
        conversations = await self._conversations(customer)
        ids = set(conversations)
        handoffs = await self._handoffs(ids)
        journal = await self._journal(ids)
        messages = files = 0
        for cid in ids:
            rows = await self.redis.lrange(self.keys.history(cid), 0, -1)
            messages += len(rows)
            listed = {a["id"] for row in rows for a in json.loads(row).get("attachments", []) if a.get("stored")}
            for attachment_id in sorted(listed | await forget_uploads(self.redis, self.prefix, cid)):
                files += await self.files.delete(attachment_id)
            await self.redis.delete(self.keys.state(cid), self.keys.history(cid), self.keys.lock(cid),
                                    *await self._scan(self.keys.seen(cid, "")))
            await self.redis.zrem(self.keys.conversations, cid)
        for hid in handoffs:
            await self.redis.delete(self.keys.handoff(hid), self.keys.claim(hid))
            await self.redis.zrem(self.keys.open_handoffs, hid)
        for kind, raw, _ in journal:
            await self.redis.lrem(self.keys.journal(kind), 1, raw)
        counts = {"conversations": len(ids), "messages": messages, "files": files, "handoffs": len(handoffs),
                  "journal_entries": len(journal)}
        await self.redis.rpush(f"{self.prefix}:audit", json.dumps({"action": "erase", "at": now(), **counts}))
        return counts
