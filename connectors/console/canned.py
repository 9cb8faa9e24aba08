"""Canned responses: replies an admin writes once and every agent inserts into the composer.

Kept in one Redis hash (`{prefix}:canned`, id → JSON) beside the accounts, so every console process sees
the same list at once.
"""

# No `from __future__ import annotations`: FastAPI must see the `Agent` and `Admin` aliases as real objects.
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from redis.asyncio import Redis

from bot.types import NOT_BLANK, Text, new_id, not_blank
from connectors.console.auth import ConsoleAuth, Identity

MAX_CANNED = 500


class CannedDraft(BaseModel):
    """What an admin sends: a short title to find it by, and the text the agent inserts."""

    title: Annotated[Text, not_blank("must not be blank")] = Field(
        min_length=1, max_length=80, json_schema_extra={"pattern": NOT_BLANK})
    text: Annotated[Text, not_blank("must not be blank")] = Field(
        min_length=1, max_length=4_000, json_schema_extra={"pattern": NOT_BLANK})


class CannedResponse(CannedDraft):
    id: str


class CannedResponses:
    def __init__(self, redis: Redis, prefix: str = "sb") -> None:
        self.redis = redis
        self.key = f"{prefix}:canned"

    async def all(self) -> list[CannedResponse]:
        """Sorted by title, the order agents look for them in."""
        rows = (await self.redis.hgetall(self.key)).values()
        return sorted((CannedResponse.model_validate_json(r) for r in rows), key=lambda c: c.title.casefold())

    async def save(self, draft: CannedDraft, canned_id: str | None = None) -> CannedResponse:
        item = CannedResponse(id=canned_id or new_id(), **draft.model_dump())
        await self.redis.hset(self.key, item.id, item.model_dump_json())
        return item

    async def count(self) -> int:
        return int(await self.redis.hlen(self.key))

    async def exists(self, canned_id: str) -> bool:
        return bool(await self.redis.hexists(self.key, canned_id))

    async def remove(self, canned_id: str) -> bool:
        return bool(await self.redis.hdel(self.key, canned_id))


def canned_router(auth: ConsoleAuth, canned: CannedResponses) -> APIRouter:
    router = APIRouter(prefix="/api/agent")
    Agent = Annotated[Identity, Depends(auth.identify)]
    Admin = Annotated[Identity, Depends(auth.admin)]

    @router.get("/canned")
    async def list_canned(who: Agent) -> list[CannedResponse]:
        return await canned.all()

    @router.post("/admin/canned", status_code=201,
                 responses={409: {"description": f"there are already {MAX_CANNED} canned responses"}})
    async def add_canned(body: CannedDraft, who: Admin) -> CannedResponse:
        if await canned.count() >= MAX_CANNED:
            raise HTTPException(409, f"there are already {MAX_CANNED} canned responses; remove some first")
        return await canned.save(body)

    @router.post("/admin/canned/{canned_id}")
    async def change_canned(canned_id: str, body: CannedDraft, who: Admin) -> CannedResponse:
        if not await canned.exists(canned_id):
            raise HTTPException(404, "no such canned response")
        return await canned.save(body, canned_id)

    @router.post("/admin/canned/{canned_id}/remove")
    async def remove_canned(canned_id: str, who: Admin) -> dict[str, str]:
        if not await canned.remove(canned_id):
            raise HTTPException(404, "no such canned response")
        return {"removed": canned_id}

    return router
