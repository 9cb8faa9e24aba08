"""HTTP + WebSocket API of the agent console: the live queue and everything an agent does to a conversation."""

# No `from __future__ import annotations` here: FastAPI must see the `Agent` alias as a real object.
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, WebSocket
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from bot.action_log import CALLS_SLOT, UnknownCall, WriteNotRepeated, rerun
from bot.action_log import shown as shown_calls
from bot.desk import AgentDesk, heading
from bot.files import AttachmentStore
from bot.gates import GateConfig
from bot.observer import in_turn
from bot.store import Entry
from bot.types import NOT_BLANK, Handoff, Role, Text, not_blank
from connectors.console.accounts import AccountRole
from connectors.console.auth import ConsoleAuth, Identity
from connectors.console.search import search
from connectors.live import relay
from connectors.uploads import TextOrFiles, attached, listed

STATIC = Path(__file__).parent / "static"
LATEST_WITHIN = 50  # messages looked back for the customer's latest one
# the console's ES modules and stylesheet, by file name: nothing else in static/ is served
PAGES = {path.name: "text/css" if path.suffix == ".css" else "application/javascript"
         for path in STATIC.iterdir() if path.suffix in (".js", ".css")}


class Body(BaseModel):
    text: Annotated[Text, not_blank("text is empty")] = Field(
        max_length=20_000, json_schema_extra={"minLength": 1, "pattern": NOT_BLANK})


class Reply(TextOrFiles):
    text: Text = Field("", max_length=20_000)


class Approval(BaseModel):
    text: Text | None = Field(None, max_length=20_000)


class Rejection(BaseModel):
    reason: Text = Field("", max_length=2_000)


class Assignment(BaseModel):
    username: str = Field(min_length=1, max_length=64, description="the agent's login, in any spelling")


def render_entry(entry: Entry) -> dict[str, Any]:
    m = entry.message
    return {"seq": entry.seq, "id": m.id, "role": m.sender.role.value, "name": m.sender.name or m.sender.id,
            "text": m.text, "internal": m.internal, "created_at": m.created_at, "channel": m.channel,
            "citations": [c.model_dump() for c in m.citations],
            "attachments": [listed(a) for a in m.attachments]}


def console_router(desk: AgentDesk, auth: ConsoleAuth, gates: Callable[[], Awaitable[GateConfig]],
                   files: AttachmentStore, *, files_per_message: int) -> APIRouter:
    store, queue = desk.store, desk.queue
    router = APIRouter(prefix="/api/agent")
    Agent = Annotated[Identity, Depends(auth.identify)]

    async def with_sla(handoff: dict[str, Any]) -> dict[str, Any]:
        config = (await gates()).category(handoff["category"])
        return {**handoff, "sla_seconds": config.sla_seconds}

    async def latest_from_customer(handoff: Handoff) -> dict[str, Any] | None:
        """The queue item's heading (`bot.desk.heading`): the question a draft answers, else what the customer
        said last, not the message that asked for a person."""
        latest = next((e.message for e in reversed(await store.tail(handoff.conversation_id, LATEST_WITHIN))
                       if e.message.sender.role is Role.CUSTOMER), None)
        shown = heading(handoff, latest)
        return {"text": shown[0][:300], "created_at": shown[1]} if shown else None

    @router.get("/handoffs")
    async def handoffs(who: Agent, category: str | None = None, queue_name: Annotated[str | None, Query(
            alias="queue")] = None) -> list[dict[str, Any]]:
        listed = [h for h in await queue.open_handoffs(category) if queue_name is None or h.queue == queue_name]
        listed.sort(key=lambda h: (-h.priority, h.created_at))
        return [{**await with_sla(h.model_dump(mode="json", exclude={"shadow"})),
                 "latest": await latest_from_customer(h)} for h in listed]

    @router.get("/search")
    async def search_conversations(who: Agent, q: Annotated[str, Query(min_length=1, max_length=200)],
                                   cursor: Annotated[int, Query(ge=0)] = 0,
                                   limit: Annotated[int, Query(ge=1, le=50)] = 20) -> dict[str, Any]:
        """Conversations whose customer, id or messages contain every word of `q`; page on with `next`."""
        return await search(store, q, cursor=cursor, limit=limit)

    @router.get("/conversations")
    async def conversations(who: Agent, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[dict[str, Any]]:
        """Recent conversations, also those the bot handles alone: an agent may step in anywhere."""
        recent = getattr(store, "recent", None)
        out = []
        for cid in (await recent(limit)) if recent else []:
            state = await store.load(cid)
            if state is None:
                continue
            history = await store.history(cid)
            last = next((e.message for e in reversed(history) if not e.message.internal), None)
            out.append({"id": cid, "channel": state.channel, "owner": state.owner.value, "agent": state.agent,
                        "category": state.category, "updated_at": last.created_at if last else state.updated_at,
                        "customer": state.customer.name, "messages": len(history),
                        "last": {"role": last.sender.role.value, "text": last.text[:200]} if last else None})
        return out

    @router.get("/conversations/{conversation_id}")
    async def conversation(conversation_id: str, who: Agent) -> dict[str, Any]:
        state = await store.load(conversation_id)
        if state is None:
            raise HTTPException(404, "conversation not found")
        handoff = await queue.get(state.handoff_id) if state.handoff_id else None
        return {"state": state.model_dump(mode="json", exclude={"token_hash": True, "slots": {CALLS_SLOT}}),
                "handoff": await with_sla(handoff.model_dump(mode="json")) if handoff else None,
                "transcript": [render_entry(e) for e in await store.history(conversation_id)],
                "actions": shown_calls(state.slots)}

    @router.get("/conversations/{conversation_id}/actions")
    async def action_calls(conversation_id: str, who: Agent) -> list[dict[str, Any]]:
        """The conversation's latest action calls: inputs and results with personal data labelled."""
        state = await store.load(conversation_id)
        if state is None:
            raise HTTPException(404, "conversation not found")
        return shown_calls(state.slots)

    @router.post("/conversations/{conversation_id}/actions/{index}/rerun")
    async def rerun_action(conversation_id: str, index: int, who: Agent) -> dict[str, Any]:
        """The call again, with the values it was given and the conversation's own customer; the result is for
        the agent only (the customer is sent nothing)."""
        flow = desk.dialogue.actions
        if flow is None:
            raise HTTPException(404, "no actions are configured")
        await may_act(conversation_id, who, "run its actions again", step_in=False)
        try:
            with in_turn(None, conversation_id):  # the conversation's rate limit counts it
                return await rerun(store, flow, conversation_id, index, who.username)
        except UnknownCall as error:
            raise HTTPException(404, str(error)) from None
        except WriteNotRepeated as error:
            raise HTTPException(409, str(error)) from None

    @router.post("/handoffs/{handoff_id}/claim")
    async def claim(handoff_id: str, who: Agent) -> dict[str, Any]:
        return (await desk.claim(handoff_id, who.participant)).model_dump(mode="json")

    async def may_act(conversation_id: str, who: Identity, action: str, *, step_in: bool = True) -> None:
        """Claims mean ownership: on a conversation someone else claimed (or took over) only they act, others
        get 403 naming the owner; an admin may act anywhere, and with `step_in` takes the conversation over,
        recorded on its handoff. Unclaimed conversations stay open to every agent."""
        owner = await desk.owner_other_than(conversation_id, who.participant)
        if owner is None:
            return
        if who.role is not AccountRole.ADMIN:
            raise HTTPException(403, f"conversation is claimed by {owner}: only {owner} or an admin may {action}")
        if step_in:
            await desk.step_in(conversation_id, who.participant)

    @router.post("/handoffs/{handoff_id}/assign")
    async def assign(handoff_id: str, body: Assignment, who: Agent) -> dict[str, Any]:
        """A lead dispatching, or the claimant passing a handoff on; an unclaimed one, any agent."""
        handoff = await queue.get(handoff_id)
        if handoff is None:
            raise HTTPException(404, "handoff not found")
        await may_act(handoff.conversation_id, who, "assign it", step_in=False)
        account = await auth.accounts.get(body.username)
        if account is None:
            raise HTTPException(404, f"no agent named {body.username!r}")
        to = account.participant()
        return (await desk.assign(handoff_id, to, who.participant)).model_dump(mode="json")

    @router.post("/conversations/{conversation_id}/reply")
    async def reply(conversation_id: str, body: Reply, who: Agent) -> dict[str, Any]:
        """Files go as ids from `POST .../attachments` of this conversation."""
        listed_files = await attached(files, body.attachments, conversation_id, files_per_message)
        await may_act(conversation_id, who, "reply")
        turn = await desk.reply(conversation_id, who.participant, body.text, attachments=listed_files)
        return {"sent": [m.id for m in turn.replies]}

    @router.post("/conversations/{conversation_id}/note")
    async def note(conversation_id: str, body: Body, who: Agent) -> dict[str, str]:
        return {"id": (await desk.note(conversation_id, who.participant, body.text)).id}

    @router.post("/conversations/{conversation_id}/takeover")
    async def take_over(conversation_id: str, who: Agent) -> dict[str, str]:
        await may_act(conversation_id, who, "take it over")
        await desk.take_over(conversation_id, who.participant)
        return {"owner": "human", "agent": who.username}

    @router.post("/conversations/{conversation_id}/handback")
    async def hand_back(conversation_id: str, who: Agent) -> dict[str, str]:
        await may_act(conversation_id, who, "hand it back", step_in=False)
        await desk.hand_back(conversation_id, who.participant)
        return {"owner": "bot"}

    @router.post("/conversations/{conversation_id}/resolve")
    async def resolve(conversation_id: str, who: Agent) -> dict[str, str]:
        await may_act(conversation_id, who, "resolve it", step_in=False)
        await desk.resolve(conversation_id, who.participant)
        return {"owner": "bot", "status": "resolved"}

    @router.post("/conversations/{conversation_id}/typing")
    async def typing(conversation_id: str, who: Agent) -> dict[str, bool]:
        await desk.typing(conversation_id, who.participant)
        return {"ok": True}

    @router.post("/conversations/{conversation_id}/draft/approve")
    async def approve(conversation_id: str, body: Approval, who: Agent) -> dict[str, str]:
        await may_act(conversation_id, who, "review its draft")
        sent = await desk.approve(conversation_id, who.participant, body.text)
        return {"sent": sent.id, "text": sent.text}

    @router.post("/conversations/{conversation_id}/draft/reject")
    async def reject(conversation_id: str, body: Rejection, who: Agent) -> dict[str, str]:
        """The rejecting agent owns the conversation and answers it (an admin steps in to reject)."""
        await may_act(conversation_id, who, "review its draft")
        await desk.reject(conversation_id, who.participant, body.reason)
        return {"owner": "human"}

    @router.get("/agents")
    async def agents(who: Agent) -> list[dict[str, str]]:
        """Names to assign to; roles and hashes stay with the admin endpoints."""
        return [{"username": a.username, "display_name": a.display_name} for a in await auth.accounts.all()]

    @router.websocket("/live")
    async def live(websocket: WebSocket, token: str = "") -> None:
        if await auth.websocket_identity(websocket, token) is None:
            await websocket.close(code=4401)
            return
        subscription = await queue.subscribe()  # before the handshake: a store outage answers 503
        try:
            await websocket.accept()
            await relay(websocket, subscription, websocket.send_json)
        finally:
            await subscription.close()

    return router


def console_page_router() -> APIRouter:
    router = APIRouter()

    @router.get("/console", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "console.html", media_type="text/html",
                            headers={"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                                                "style-src 'self' 'unsafe-inline'; "
                                                                "frame-ancestors 'none'",
                                     "X-Frame-Options": "DENY"})

    @router.get("/console/{name}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        if name not in PAGES:
            raise HTTPException(404, "not found")
        return FileResponse(STATIC / name, media_type=PAGES[name])

    @router.get("/console.js", include_in_schema=False)
    async def script() -> FileResponse:
        return FileResponse(STATIC / "console.js", media_type="application/javascript")

    return router
