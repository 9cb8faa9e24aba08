"""A widget conversation is its id plus the token shown once at its start; every widget endpoint checks both."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import HTTPException

from bot.store import ConversationStore
from bot.types import ConversationState


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConversationAccess:
    def __init__(self, store: ConversationStore) -> None:
        self.store = store

    async def __call__(self, conversation_id: str, token: str | None) -> ConversationState:
        """The conversation, or 403 alike for an unknown id and a wrong token (neither is told apart)."""
        state = await self.store.load(conversation_id) if len(conversation_id) <= 64 else None
        if state is None or not token or not hmac.compare_digest(state.token_hash, hash_token(token)):
            raise HTTPException(403, "unknown conversation or wrong token")
        return state
