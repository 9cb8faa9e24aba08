"""The action calls of one conversation, as agents see them, and an agent's "run again".

The last calls live in the conversation's slots (`CALLS_SLOT`), so they share its retention and its erasure.
Each keeps the values it was called with as given, which only a rerun reads: what leaves the server is the
call's redacted inputs and result (`shown`).
"""

from __future__ import annotations

from typing import Any

from bot.action_flow import ActionFlow
from bot.errors import ConversationNotFound
from bot.store import ConversationStore
from bot.types import ActionCall, now

CALLS_SLOT = "action_calls"
KEPT_CALLS = 20  # the latest calls of a conversation; older ones remain in the journal's turn records
_PRIVATE = "values"


def remember(slots: dict[str, Any], call: ActionCall, *, by: str | None = None) -> None:
    """Add `call` to the conversation's calls; `by`: the agent who ran it again (None: a customer's turn)."""
    calls = list(slots.get(CALLS_SLOT) or [])
    calls.append({**call.model_dump(mode="json"), _PRIVATE: call.values, "at": now(), "by": by})
    slots[CALLS_SLOT] = calls[-KEPT_CALLS:]


def shown(slots: dict[str, Any]) -> list[dict[str, Any]]:
    """The calls as an agent sees them, oldest first: inputs and result redacted, the given values left out."""
    return [{k: v for k, v in call.items() if k != _PRIVATE} | {"index": i}
            for i, call in enumerate(slots.get(CALLS_SLOT) or [])]


class UnknownCall(LookupError):
    """No call at that index, or its action is no longer declared."""


class WriteNotRepeated(ValueError):
    """A call that changed something (cancelled an order) runs only after the customer's yes, never again
    from the console."""


async def rerun(store: ConversationStore, flow: ActionFlow, conversation_id: str, index: int, agent: str
                ) -> dict[str, Any]:
    """Run call `index` again with the values it was given, for the conversation's own customer (the identity
    kept with the conversation, never one from the agent). The result goes to the agent only; it is added to
    the conversation's calls, marked with who ran it."""
    state = await store.load(conversation_id)
    if state is None:
        raise ConversationNotFound(conversation_id)
    calls = state.slots.get(CALLS_SLOT) or []
    if not 0 <= index < len(calls):
        raise UnknownCall(f"conversation {conversation_id} has no action call {index}")
    spec = flow.actions.get(calls[index]["name"])
    if spec is None:
        raise UnknownCall(f"action {calls[index]['name']} is no longer declared")
    if spec.writes:
        raise WriteNotRepeated(f"action {spec.name} changes something: only the customer's yes runs it")
    values = dict(calls[index].get(_PRIVATE) or {})
    # identity fields come from whom the conversation's customer is now, as for any call
    values.update({f.name: state.identity.value(f.claim or f.name) for f in spec.fields if f.source == "identity"})
    _, call = await flow.call(spec, values, state.identity)
    async with store.lock(conversation_id):
        state = await store.load(conversation_id)
        if state is None:
            raise ConversationNotFound(conversation_id)
        remember(state.slots, call, by=agent)
        await store.save(state)
    return shown(state.slots)[-1]
