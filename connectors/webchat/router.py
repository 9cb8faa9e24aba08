"""REST + WebSocket API of the embeddable chat widget."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, WebSocket
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.dialogue import DialogueManager
from bot.files import AttachmentStore
from bot.store import Entry, Subscription
from bot.types import Participant, Role, Text, new_id
from connectors.live import relay
from connectors.ratelimit import RateLimits
from connectors.uploads import TextOrFiles, attached
from connectors.webchat.access import ConversationAccess, hash_token
from connectors.webchat.convert import CHANNEL, render, to_message, visible_to_customer

STATIC = Path(__file__).parent / "static"
PAGE, MAX_PAGE = 100, 500  # history entries per page
# The demo page runs no inline script; the widget sets inline styles on its own elements and shows agents'
# avatars, which admins may host anywhere on https, and previews of the customer's own images (blob:).
DEMO_CSP = ("default-src 'self'; img-src 'self' data: blob: https:; style-src 'self' 'unsafe-inline'; "
            "connect-src 'self'; frame-ancestors 'self'")
MAX_SEQ = 10_000_000  # far past any conversation's history; larger offsets are refused, not sent to the store


class NewConversation(BaseModel):
    name: Text = Field("", max_length=100)


class Feedback(BaseModel):
    model_config = ConfigDict(json_schema_extra={"anyOf": [  # at least one of them, and not null
        {"required": ["rating"], "properties": {"rating": {"type": "integer"}}},
        {"required": ["resolved"], "properties": {"resolved": {"type": "boolean"}}}]})

    rating: int | None = Field(None, ge=1, le=5)
    resolved: bool | None = None

    @model_validator(mode="after")
    def _says_something(self) -> "Feedback":
        if self.rating is None and self.resolved is None:
            raise ValueError("send a rating, resolved, or both")
        return self


class Inbound(TextOrFiles):
    empty = "message text is empty"

    id: str | None = Field(None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class Created(BaseModel):
    conversation_id: str
    token: str = Field(description="send as X-Conversation-Token; shown once")


class CitedSource(BaseModel):
    title: str
    source: str
    section: str = ""
    url: str | None = None


class ListedFile(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int
    stored: bool = Field(description="false: too large or too many, not kept (see note)")
    note: str = ""


class ChatMessage(BaseModel):
    """One history entry as the widget shows it (text is text, never HTML)."""

    model_config = ConfigDict(extra="allow")

    seq: int
    id: str
    role: str = Field(description="customer, bot, agent or system")
    name: str
    text: str
    citations: list[CitedSource] = []
    created_at: float
    event: str | None = Field(None, description="a change of hands this entry announces: escalated, joined, "
                                                "draft_sent, resolved, handed_back")
    attachments: list[ListedFile] = Field([], description="download each from .../attachments/{id}")


class HistoryPage(BaseModel):
    owner: str = Field(description="who answers now: bot, pending_human or human")
    messages: list[ChatMessage]
    last_seq: int
    more: bool = Field(description="ask again with after=last_seq for the next page")


class Accepted(BaseModel):
    duplicate: bool = Field(description="this message id was received before; nothing new happened")
    decision: str | None = None
    handoff_id: str | None = None
    owner: str = Field(description="who reads the next message: bot, pending_human (a person, soon) or human")


def webchat_router(dialogue: DialogueManager, *, max_message_chars: int, limits: RateLimits,
                   files: AttachmentStore, files_per_message: int) -> APIRouter:
    router = APIRouter()
    store = dialogue.store
    authorize = ConversationAccess(store)

    @router.post("/api/conversations", status_code=201, dependencies=[Depends(limits.per_address("conversations"))])
    async def create(body: NewConversation | None = None) -> Created:
        token = secrets.token_urlsafe(32)
        customer = Participant(role=Role.CUSTOMER, id=new_id(), name=(body.name if body else "") or "Customer")
        state = await dialogue.start(CHANNEL, customer, token_hash=hash_token(token))
        return Created(conversation_id=state.id, token=token)

    @router.get("/api/conversations/{conversation_id}/messages")
    async def messages(conversation_id: str, x_conversation_token: Annotated[str | None, Header()] = None,
                       after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
                       limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PAGE) -> HistoryPage:
        """One page of the history after `after`; `more` says whether to ask again from `last_seq`."""
        state = await authorize(conversation_id, x_conversation_token)
        entries = await store.history(conversation_id, after, limit)
        return HistoryPage.model_validate(
            {"owner": state.owner.value, "messages": [render(e) for e in entries if visible_to_customer(e.message)],
             "last_seq": entries[-1].seq if entries else after, "more": len(entries) == limit})

    @router.post("/api/conversations/{conversation_id}/messages", status_code=202,
                 dependencies=[Depends(limits.per_address("messages"))])
    async def post_message(conversation_id: str, body: Inbound,
                           x_conversation_token: Annotated[str | None, Header()] = None) -> Accepted:
        state = await authorize(conversation_id, x_conversation_token)
        await limits.check("messages_per_conversation", state.id)
        if len(body.text) > max_message_chars:
            raise HTTPException(413, f"message is longer than {max_message_chars} characters")
        listed = await attached(files, body.attachments, state.id, files_per_message)
        turn = await dialogue.handle(to_message(conversation_id, body.text, body.id, state.customer.id, listed))
        # who answers next: the widget tells the customer when a person, not the bot, will read this
        return Accepted(duplicate=turn.duplicate, decision=turn.outcome.decision.value if turn.outcome else None,
                        handoff_id=turn.handoff_id, owner=(turn.owner or state.owner).value)

    @router.post("/api/conversations/{conversation_id}/typing", dependencies=[Depends(limits.per_address("typing"))])
    async def typing(conversation_id: str,
                     x_conversation_token: Annotated[str | None, Header()] = None) -> dict[str, bool]:
        """Tell the agents' consoles; the widget throttles, and nothing is stored."""
        state = await authorize(conversation_id, x_conversation_token)
        await dialogue.queue.notify({"type": "typing", "role": "customer", "conversation_id": state.id})
        return {"ok": True}

    @router.post("/api/conversations/{conversation_id}/feedback",
                 dependencies=[Depends(limits.per_address("feedback"))])
    async def feedback(conversation_id: str, body: Feedback,
                       x_conversation_token: Annotated[str | None, Header()] = None) -> dict[str, bool]:
        """CSAT after a resolution, or the customer's yes/no on whether a bot answer solved it."""
        state = await authorize(conversation_id, x_conversation_token)
        await dialogue.record_feedback(state.id, rating=body.rating, resolved=body.resolved)
        await dialogue.queue.notify({"type": "feedback", "conversation_id": state.id, "rating": body.rating,
                                     "resolved": body.resolved})
        return {"recorded": True}

    @router.websocket("/api/conversations/{conversation_id}/live")
    async def live(websocket: WebSocket, conversation_id: str, token: str = "",
                   after: Annotated[int, Query(le=MAX_SEQ)] = 0) -> None:
        try:
            await limits.check("live", limits.address(websocket))
        except HTTPException:
            await websocket.close(code=4429)  # too many connects from this address; the widget retries later
            return
        try:
            await authorize(conversation_id, token)
        except HTTPException:
            await websocket.close(code=4403)
            return
        # Subscribed before the backlog is read, so nothing falls between; both before the handshake, so a
        # store outage answers 503. From here on every way out closes the subscription.
        after = max(0, after)  # a negative offset would make the store count from the end
        subscription = await store.subscribe(conversation_id)
        try:
            backlog = await store.history(conversation_id, after)
            await websocket.accept()
            await _relay_after(websocket, subscription, backlog, last=after)
        finally:
            await subscription.close()

    async def _relay_after(websocket: WebSocket, subscription: Subscription, backlog: list[Entry],
                           last: int) -> None:
        for entry in backlog:
            if visible_to_customer(entry.message):
                await websocket.send_json({"type": "message", **render(entry)})
            last = entry.seq

        async def forward(event: dict[str, Any]) -> None:
            nonlocal last
            if event.get("type") != "message":
                await websocket.send_json(event)
                return
            if event["seq"] <= last:  # already sent with the backlog
                return
            last = event["seq"]
            entry = Entry.model_validate(event)
            if visible_to_customer(entry.message):
                await websocket.send_json({"type": "message", **render(entry)})

        await relay(websocket, subscription, forward)

    @router.get("/widget.js", include_in_schema=False)
    async def widget_js() -> FileResponse:
        return FileResponse(STATIC / "widget.js", media_type="application/javascript")

    @router.get("/demo", include_in_schema=False)
    async def demo() -> FileResponse:
        return FileResponse(STATIC / "demo.html", media_type="text/html", headers={"Content-Security-Policy": DEMO_CSP})

    return router
