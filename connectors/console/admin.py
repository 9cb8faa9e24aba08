"""Admin-only: agent accounts and the phase of each category.

Phase changes apply at once to new turns in this web process and are kept in Redis (`{prefix}:phases`),
from where every process loads them when it starts; other running web processes need a restart to see them.
"""

# No `from __future__ import annotations`: FastAPI must see the `Admin` alias as a real object.
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from redis.asyncio import Redis

from bot.gates import CategoryConfig, GateConfig
from bot.types import Phase
from connectors.console.accounts import AccountRole, Accounts
from connectors.console.auth import ConsoleAuth, Identity


class NewAgent(BaseModel):
    username: str = Field(pattern=r"^[a-z0-9_.-]{2,32}$")
    password: str = Field(min_length=8, max_length=256)
    display_name: str = Field("", max_length=64)
    role: AccountRole = AccountRole.AGENT


class PhaseChange(BaseModel):
    phase: Phase


def phases_key(prefix: str) -> str:
    return f"{prefix}:phases"


def apply_phase(gates: GateConfig, category: str, phase: Phase) -> None:
    """Change the category's default phase in place (per-channel overrides are dropped: one clear phase)."""
    for config in gates.categories:
        if config.name == category:
            config.phase = phase
            config.channels = {}
            return
    gates.categories.append(CategoryConfig(name=category, phase=phase))


async def load_phase_overrides(redis: Redis, prefix: str, gates: GateConfig) -> None:
    """At start: what admins changed in the console wins over the categories file."""
    for category, phase in (await redis.hgetall(phases_key(prefix))).items():
        name = category.decode() if isinstance(category, bytes) else category
        value = phase.decode() if isinstance(phase, bytes) else phase
        if value in Phase._value2member_map_:
            apply_phase(gates, name, Phase(value))


def admin_router(auth: ConsoleAuth, gates: Callable[[], GateConfig]) -> APIRouter:
    router = APIRouter(prefix="/api/agent/admin")
    Admin = Annotated[Identity, Depends(auth.admin)]
    accounts: Accounts = auth.accounts

    @router.get("/agents")
    async def list_agents(who: Admin) -> list[dict[str, str]]:
        return [a.model_dump(mode="json", exclude={"password_hash"}) for a in await accounts.all()]

    @router.post("/agents", status_code=201)
    async def add_agent(body: NewAgent, who: Admin) -> dict[str, str]:
        if await accounts.get(body.username):
            raise HTTPException(409, f"{body.username!r} already exists")
        account = await accounts.add(body.username, body.password, body.role, body.display_name)
        return account.model_dump(mode="json", exclude={"password_hash"})

    @router.post("/agents/{username}/remove")
    async def remove_agent(username: str, who: Admin) -> dict[str, str]:
        if username == who.username:
            raise HTTPException(409, "you cannot remove your own account")
        if await accounts.get(username) is None:
            raise HTTPException(404, f"no agent named {username!r}")
        await accounts.remove(username)
        return {"removed": username}

    @router.get("/phases")
    async def list_phases(who: Admin) -> list[dict[str, Any]]:
        config = gates()
        names = [c.name for c in config.categories] or ["general"]
        return [{"category": n, "phase": config.category(n).phase.value,
                 "channels": {k: v.value for k, v in config.category(n).channels.items()},
                 "sla_seconds": config.category(n).sla_seconds, "priority": config.category(n).priority,
                 "queue": config.queue_for(n)} for n in names]

    @router.post("/phases/{category}")
    async def change_phase(category: str, body: PhaseChange, who: Admin) -> dict[str, str]:
        if not 1 <= len(category) <= 64:
            raise HTTPException(422, "category name must have 1-64 characters")
        apply_phase(gates(), category, body.phase)
        await accounts.redis.hset(phases_key(accounts.prefix), category, body.phase.value)
        return {"category": category, "phase": body.phase.value}

    return router
