"""Tell agents about handoffs through an incoming webhook (Slack, Teams, Mattermost all accept `{"text"}`)."""

from __future__ import annotations

import httpx

from bot.privacy import Redactor
from bot.types import Handoff


class WebhookNotifier:
    """Posts outside the deployment: customers' personal data is replaced before it leaves."""

    def __init__(self, url: str, public_url: str = "", timeout: float = 10.0, redact: Redactor | None = None
                 ) -> None:
        self.url = url
        self.redact = redact or Redactor()
        self.public_url = public_url.rstrip("/")
        self.timeout = timeout

    async def _post(self, text: str, handoff: Handoff, kind: str) -> None:
        link = f" {self.public_url}/console#{handoff.conversation_id}" if self.public_url else ""
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(self.url, json={"text": text + link, "kind": kind,
                                                         "handoff_id": handoff.id})
            response.raise_for_status()

    async def handoff_opened(self, handoff: Handoff) -> None:
        question = self.redact(handoff.question)[:200]
        await self._post(f"New {handoff.category} handoff ({handoff.reason.value}): {question}", handoff, "opened")

    async def handoff_unclaimed(self, handoff: Handoff) -> None:
        await self._post(f"Still unclaimed ({handoff.reminders}): {self.redact(handoff.question)[:200]}", handoff,
                         "reminder")
