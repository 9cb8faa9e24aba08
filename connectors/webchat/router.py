"""REST + WebSocket API of the embeddable chat widget."""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, WebSocket
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.actions import Identity
from bot.dialogue import DialogueManager
from bot.files import AttachmentStore
from bot.store import Entry, Subscription
from bot.types import Participant, Role, Text, new_id
from connectors.actions.identity import IdentityError, WidgetIdentityVerifier
from connectors.live import TRY_AGAIN_LATER, SocketsPerAddress, relay
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


IDENTITY_REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"description": "an identity was presented and did not verify (forged, expired, or not accepted here)"}}


class IdentityProof(BaseModel):
    """Who the visitor is, as the company's own backend signed it: a JWT, or a user id with its HMAC."""

    identity_token: str | None = Field(None, max_length=8192, description="a JWT signed by the company's "
                                       "backend (`sub`: the customer's id in the company's systems)")
    user_id: str | None = Field(None, max_length=200, description="with `user_hash`: HMAC-SHA256 of the id")
    user_hash: str | None = Field(None, max_length=128)


class NewConversation(IdentityProof):
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
    reviewing: bool = Field(False, description="an agent is reviewing the bot's draft answer; nothing is sent yet")


class Accepted(BaseModel):
    duplicate: bool = Field(description="this message id was received before; nothing new happened")
    decision: str | None = None
    handoff_id: str | None = None
    owner: str = Field(description="who reads the next message: bot, pending_human (a person, soon) or human")


def webchat_router(dialogue: DialogueManager, *, max_message_chars: int, limits: RateLimits,
                   files: AttachmentStore, files_per_message: int, sockets_per_address: int = 20,
                   identities: WidgetIdentityVerifier | None = None,
                   demo_sign_in: Callable[[], tuple[str, str]] | None = None) -> APIRouter:
    router = APIRouter()
    store = dialogue.store
    authorize = ConversationAccess(store)
    open_sockets = SocketsPerAddress(sockets_per_address)

    @router.post("/api/conversations", status_code=201, dependencies=[Depends(limits.per_address("conversations"))],
                 responses=IDENTITY_REFUSED)
    async def create(body: NewConversation | None = None) -> Created:
        identity = proven(body) if body is not None else Identity.anonymous()
        token = secrets.token_urlsafe(32)
        customer = Participant(role=Role.CUSTOMER, id=new_id(), name=(body.name if body else "") or "Customer")
        state = await dialogue.start(CHANNEL, customer, token_hash=hash_token(token), identity=identity)
        return Created(conversation_id=state.id, token=token)

    @router.post("/api/conversations/{conversation_id}/identity", status_code=204,
                 dependencies=[Depends(limits.per_address("conversations"))], responses=IDENTITY_REFUSED)
    async def identify(conversation_id: str, body: IdentityProof,
                       x_conversation_token: Annotated[str | None, Header()] = None) -> None:
        """The visitor signed in on the company's site after the conversation began."""
        await authorize(conversation_id, x_conversation_token)
        await dialogue.identify(conversation_id, proven(body))

    def proven(body: IdentityProof) -> Identity:
        """The identity the proof vouches for; a proof that fails is refused, never taken as anonymous."""
        if not (body.identity_token or body.user_id or body.user_hash):
            return Identity.anonymous()
        if identities is None:
            raise HTTPException(401, "this site does not accept signed identities")
        try:
            return identities.verify(token=body.identity_token, user_id=body.user_id, user_hash=body.user_hash)
        except IdentityError as error:
            raise HTTPException(401, str(error)) from error

    @router.get("/api/conversations/{conversation_id}/messages")
    async def messages(conversation_id: str, x_conversation_token: Annotated[str | None, Header()] = None,
                       after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
                       limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PAGE) -> HistoryPage:
        """One page of the history after `after`; `more` says whether to ask again from `last_seq`."""
        state = await authorize(conversation_id, x_conversation_token)
        entries = await store.history(conversation_id, after, limit)
        return HistoryPage.model_validate(
            {"owner": state.owner.value, "messages": [render(e) for e in entries if visible_to_customer(e.message)],
             "last_seq": entries[-1].seq if entries else after, "more": len(entries) == limit,
             "reviewing": state.pending_draft is not None})

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
        address = limits.address(websocket)
        try:
            await limits.check("live", address)
        except HTTPException:
            await websocket.close(code=4429)  # too many connects from this address; the widget retries later
            return
        if not open_sockets.take(address):
            await websocket.accept()  # accepted first, so the client sees the code and the reason
            await websocket.close(code=TRY_AGAIN_LATER, reason="too many open connections from this address")
            return
        try:
            await _live(websocket, conversation_id, token, after)
        finally:
            open_sockets.release(address)

    async def _live(websocket: WebSocket, conversation_id: str, token: str, after: int) -> None:
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

    if demo_sign_in is not None:
        @router.get("/demo/signed-in", include_in_schema=False)
        async def demo_signed_in() -> HTMLResponse:
            """The demo page as the company's site serves it to a signed-in customer: the widget's tag carries
            an identity the site's backend signed (here, the demo's own key and customer)."""
            name, token = demo_sign_in()
            page = (STATIC / "demo.html").read_text(encoding="utf-8")
            page = page.replace('<script src="/widget.js"', f'<script src="/widget.js" data-identity-token="{token}"')
            page = page.replace('<a href="/demo/signed-in" id="sign-in">Sign in</a>',
                                f'<span id="sign-in">Signed in as {html.escape(name)}</span>')
            return HTMLResponse(page, headers={"Content-Security-Policy": DEMO_CSP})

    return router
