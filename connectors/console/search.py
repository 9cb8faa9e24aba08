"""Search over conversations for the console: every word of the query in the customer's name, the
conversation id, or anything said in it (internal notes included: agents search their own notes too).

Conversations are scanned newest first from the store's index, a bounded number per request; the answer
says where to continue (`next`), so a long history is searched page by page and no request scans it all.
"""

from __future__ import annotations

from typing import Any

from bot.excerpt import excerpt
from bot.store import ConversationStore, Entry
from bot.types import ConversationState

BATCH = 100  # conversation ids read from the index at a time
MAX_SCANNED = 1_000  # conversations looked at per request, matches or not


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def around(text: str, word: str, width: int = 160) -> str:
    """The part of a message around the first `word`, in whole words."""
    text = " ".join(text.split())
    return excerpt(text, max(0, text.casefold().find(word) - width // 3), width)


def find(words: list[str], state: ConversationState, entries: list[Entry]) -> Entry | bool:
    """The first message with the first word (False when the conversation does not match every word;
    True when it matches on its customer or id alone)."""
    said = " ".join(_fold(e.message.text) for e in entries)
    about = _fold(f"{state.customer.name} {state.customer.id} {state.id}")
    if not all(w in said or w in about for w in words):
        return False
    return next((e for e in entries if words[0] in _fold(e.message.text)), True)


async def search(store: ConversationStore, query: str, *, cursor: int = 0, limit: int = 20) -> dict[str, Any]:
    """One page of matches, newest conversation first; `next` is the cursor of the following page (None at the
    end). A page may hold fewer than `limit` matches when the scan bound was reached first."""
    words = _fold(query).split()
    recent = getattr(store, "recent", None)
    if not words or recent is None:
        return {"query": query, "results": [], "next": None}
    results: list[dict[str, Any]] = []
    position, scanned = cursor, 0
    while len(results) < limit and scanned < MAX_SCANNED:
        ids = await recent(BATCH, offset=position)
        if not ids:
            break
        for cid in ids:
            position += 1
            scanned += 1
            state = await store.load(cid)
            entries = await store.history(cid) if state else []
            hit = find(words, state, entries) if state else False
            if hit is False or state is None:
                continue
            results.append(_result(state, entries, hit, words[0]))
            if len(results) == limit:
                break
    more = bool(await recent(1, offset=position))
    return {"query": query, "results": results, "next": position if more else None}


def _result(state: ConversationState, entries: list[Entry], hit: Entry | bool, word: str) -> dict[str, Any]:
    last = entries[-1].message if entries else None
    return {"id": state.id, "customer": state.customer.name, "channel": state.channel, "owner": state.owner.value,
            "agent": state.agent, "category": state.category, "messages": len(entries),
            "updated_at": last.created_at if last else state.updated_at,
            "match": {"role": hit.message.sender.role.value, "seq": hit.seq, "internal": hit.message.internal,
                      "text": around(hit.message.text, word)} if isinstance(hit, Entry) else None}
