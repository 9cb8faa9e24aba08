"""Who counts as an IT agent: members of the agents channel (or of a user group), cached briefly."""

from __future__ import annotations

import asyncio
import time

from slack_sdk.web.async_client import AsyncWebClient


class AgentRoster:
    """Membership changes rarely, but clicks come in bursts: one `conversations.members` per `ttl` seconds."""

    def __init__(
        self, client: AsyncWebClient, channel: str | None, usergroup: str | None = None, ttl: float = 60.0
    ) -> None:
        self.client = client
        self.channel = channel
        self.usergroup = usergroup
        self.ttl = ttl
        self._members: frozenset[str] = frozenset()
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def is_agent(self, user_id: str) -> bool:
        return user_id in await self.members()

    async def members(self) -> frozenset[str]:
        async with self._lock:
            if time.monotonic() >= self._expires:
                self._members = await self._fetch()
                self._expires = time.monotonic() + self.ttl
            return self._members

    async def _fetch(self) -> frozenset[str]:
        members: set[str] = set()
        if self.channel:
            cursor = None
            while True:
                page = await self.client.conversations_members(
                    channel=self.channel, limit=1000, cursor=cursor
                )
                members.update(page.get("members") or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        if self.usergroup:
            group = await self.client.usergroups_users_list(usergroup=self.usergroup)
            members.update(group.get("users") or [])
        return frozenset(members)


class Directory:
    """Display names of Slack users, for the 'Alice has joined' line the employee sees."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._names: dict[str, str] = {}

    async def name(self, user_id: str, hint: str = "") -> str:
        if user_id not in self._names:
            try:
                user = (await self.client.users_info(user=user_id)).get("user") or {}
                profile = user.get("profile") or {}
                self._names[user_id] = (
                    profile.get("display_name")
                    or profile.get("real_name")
                    or user.get("real_name")
                    or hint
                    or user_id
                )
            except Exception:  # a missing users:read scope must not stop the reply
                return hint or user_id
        return self._names[user_id]
