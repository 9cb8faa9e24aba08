"""Admin-only: agent accounts and the phase of each category.

Phase changes are kept in Redis (`{prefix}:phases`, see `RedisPhaseOverrides`) and apply from the next turn in
every process (web, worker, Slack, email), since each checks a version counter before it gates a turn.
"""

# No `from __future__ import annotations`: FastAPI must see the `Admin` alias as a real object.
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from bot.gates import GateConfig
from bot.store import PhaseOverrides
from bot.types import Phase
from connectors.console.accounts import (
    AccountRole,
    Accounts,
    AvatarUrl,
    DisplayName,
    Profile,
    Username,
    normalize_username,
)
from connectors.console.auth import ConsoleAuth, Identity
from connectors.console.passwords import WeakPassword


class NewAgent(BaseModel):
    username: Username
    password: str = Field(min_length=1, max_length=256, description="at least 10 characters, not blank, and hard "
                          "to guess: common, breached and name-based passwords are refused (422)")
    display_name: str = DisplayName
    avatar_url: str = AvatarUrl
    role: AccountRole = AccountRole.AGENT


class PhaseChange(BaseModel):
    phase: Phase


def admin_router(auth: ConsoleAuth, gates: Callable[[], Awaitable[GateConfig]], overrides: PhaseOverrides,
                 records: Any = None) -> APIRouter:
    router = APIRouter(prefix="/api/agent/admin")
    Admin = Annotated[Identity, Depends(auth.admin)]
    accounts: Accounts = auth.accounts

    @router.get("/agents")
    async def list_agents(who: Admin) -> list[dict[str, Any]]:
        return [a.public() for a in await accounts.all()]

    @router.post("/agents", status_code=201)
    async def add_agent(body: NewAgent, who: Admin) -> dict[str, Any]:
        if await accounts.get(body.username):
            raise HTTPException(409, f"{body.username!r} already exists")
        try:
            account = await accounts.add(body.username, body.password, body.role, body.display_name,
                                         body.avatar_url)
        except WeakPassword as refused:  # FastAPI's own shape for a refused field, as the schema says
            raise RequestValidationError([{"type": "weak_password", "loc": ("body", "password"),
                                           "msg": str(refused)}]) from None
        return account.public()

    @router.put("/agents/{username}/profile")
    async def change_profile(username: str, body: Profile, who: Admin) -> dict[str, Any]:
        """The display name and avatar customers see from the next message on."""
        try:
            account = await accounts.update_profile(username, body)
        except KeyError:
            raise HTTPException(404, f"no agent named {username!r}") from None
        return account.public()

    @router.post("/agents/{username}/remove")
    async def remove_agent(username: str, who: Admin) -> dict[str, str]:
        """Refused for one's own account and for the last admin: someone must be able to manage the rest."""
        username = normalize_username(username)
        if username == normalize_username(who.username):
            raise HTTPException(409, "you cannot remove your own account")
        account = await accounts.get(username)
        if account is None:
            raise HTTPException(404, f"no agent named {username!r}")
        if account.role is AccountRole.ADMIN and await accounts.admins() == [username]:
            raise HTTPException(409, f"{username!r} is the last admin; add another admin first")
        await accounts.remove(username)
        return {"removed": username}

    @router.get("/phases")
    async def list_phases(who: Admin) -> list[dict[str, Any]]:
        config = await gates()
        names = [c.name for c in config.categories] or ["general"]
        return [{"category": n, "phase": config.category(n).phase.value,
                 "channels": {k: v.value for k, v in config.category(n).channels.items()},
                 "sla_seconds": config.category(n).sla_seconds, "priority": config.category(n).priority,
                 "queue": config.queue_for(n)} for n in names]

    @router.post("/phases/{category}")
    async def change_phase(category: str, body: PhaseChange, who: Admin) -> dict[str, str]:
        if not 1 <= len(category) <= 64:
            raise HTTPException(422, "category name must have 1-64 characters")
        await overrides.set(category, body.phase)
        return {"category": category, "phase": body.phase.value}

    if records is not None:
        @router.get("/privacy/{customer}")
        async def export_customer(customer: str, who: Admin) -> dict[str, Any]:
            """Everything held about one customer (their channel's id: email address, Slack user, visitor)."""
            return await records.export(customer)  # type: ignore[no-any-return]

        @router.delete("/privacy/{customer}")
        async def erase_customer(customer: str, who: Admin) -> dict[str, int]:
            """Erase one customer's conversations, histories, handoffs and journal entries; counts come back."""
            return await records.erase(customer)  # type: ignore[no-any-return]

    return router
