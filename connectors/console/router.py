"""HTTP + WebSocket API of the agent console (first cut: one shared agent token)."""

# No `from __future__ import annotations` here: FastAPI must see the local `Agent` alias as a real
# object, a string annotation naming a function-local variable cannot be resolved.
import asyncio
import hmac
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, field_validator

from bot.desk import AgentDesk, agent
from bot.store import Entry
from bot.types import Participant

STATIC = Path(__file__).parent / "static"


class Text(BaseModel):
    text: str = Field(max_length=20_000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty")
        return value.strip()


class Approval(BaseModel):
    text: str | None = Field(None, max_length=20_000)


class Rejection(BaseModel):
    reason: str = Field("", max_length=2_000)


def render_entry(entry: Entry) -> dict[str, Any]:
    m = entry.message
    return {"seq": entry.seq, "id": m.id, "role": m.sender.role.value, "name": m.sender.name or m.sender.id,
            "text": m.text, "internal": m.internal, "created_at": m.created_at,
            "citations": [c.model_dump() for c in m.citations]}


def console_router(desk: AgentDesk, *, agent_token: str) -> APIRouter:
    store, queue = desk.store, desk.queue

    def current_agent(authorization: Annotated[str | None, Header()] = None,
                      x_agent: Annotated[str | None, Header(max_length=64)] = None) -> Participant:
        expected = f"Bearer {agent_token}"
        if not authorization or not hmac.compare_digest(authorization.encode(), expected.encode()):
            raise HTTPException(401, "agent token required")
        return agent(x_agent or "agent")

    router = APIRouter(prefix="/api/agent")
    Agent = Annotated[Participant, Depends(current_agent)]

    @router.get("/handoffs")
    async def handoffs(who: Agent, category: str | None = None) -> list[dict[str, Any]]:
        return [h.model_dump(mode="json") for h in await queue.open_handoffs(category)]

    @router.get("/conversations/{conversation_id}")
    async def conversation(conversation_id: str, who: Agent) -> dict[str, Any]:
        state = await store.load(conversation_id)
        if state is None:
            raise HTTPException(404, "conversation not found")
        handoff = await queue.get(state.handoff_id) if state.handoff_id else None
        return {"state": state.model_dump(mode="json", exclude={"token_hash"}),
                "handoff": handoff.model_dump(mode="json") if handoff else None,
                "transcript": [render_entry(e) for e in await store.history(conversation_id)]}

    @router.post("/handoffs/{handoff_id}/claim")
    async def claim(handoff_id: str, who: Agent) -> dict[str, Any]:
        return (await desk.claim(handoff_id, who)).model_dump(mode="json")

    @router.post("/conversations/{conversation_id}/reply")
    async def reply(conversation_id: str, body: Text, who: Agent) -> dict[str, Any]:
        turn = await desk.reply(conversation_id, who, body.text)
        return {"sent": [m.id for m in turn.replies]}

    @router.post("/conversations/{conversation_id}/note")
    async def note(conversation_id: str, body: Text, who: Agent) -> dict[str, str]:
        return {"id": (await desk.note(conversation_id, who, body.text)).id}

    @router.post("/conversations/{conversation_id}/handback")
    async def hand_back(conversation_id: str, who: Agent) -> dict[str, str]:
        await desk.hand_back(conversation_id, who)
        return {"owner": "bot"}

    @router.post("/conversations/{conversation_id}/draft/approve")
    async def approve(conversation_id: str, body: Approval, who: Agent) -> dict[str, str]:
        sent = await desk.approve(conversation_id, who, body.text)
        return {"sent": sent.id, "text": sent.text}

    @router.post("/conversations/{conversation_id}/draft/reject")
    async def reject(conversation_id: str, body: Rejection, who: Agent) -> dict[str, str]:
        await desk.reject(conversation_id, who, body.reason)
        return {"owner": "human"}

    @router.websocket("/live")
    async def live(websocket: WebSocket, token: str = "") -> None:
        if not hmac.compare_digest(token.encode(), agent_token.encode()):
            await websocket.close(code=4401)
            return
        await websocket.accept()
        subscription = await queue.subscribe()
        receiver = asyncio.ensure_future(_drain(websocket))
        try:
            while not receiver.done():
                event = await subscription.get(timeout=1.0)
                if event is not None:
                    await websocket.send_json(event)
        except WebSocketDisconnect:
            pass
        finally:
            receiver.cancel()
            await subscription.close()

    return router


def console_page_router() -> APIRouter:
    router = APIRouter()

    @router.get("/console", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "console.html", media_type="text/html")

    @router.get("/console.js", include_in_schema=False)
    async def script() -> FileResponse:
        return FileResponse(STATIC / "console.js", media_type="application/javascript")

    return router


async def _drain(websocket: WebSocket) -> None:
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        return
