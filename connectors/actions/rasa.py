"""Actions served by a rasa-sdk action server, called over its webhook exactly as Rasa calls them, so a team
that already has Rasa custom actions reuses them unchanged.

The action's fields arrive as slots (and `slot` events), the customer as `sender_id` (the verified user id)
and in the latest message's metadata; the `slot` events it returns become the result's data and its text
responses the reply, unless the file gives a reply of its own.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from bot.actions import ActionResult, ActionSpec, Identity, refusal
from connectors.actions import outcome

RASA_VERSION = "3.10.0"  # the version Rasa reports in its calls; the SDK warns when it differs


def webhook_call(action: str, fields: Mapping[str, Any], identity: Identity, text: str = "") -> dict[str, Any]:
    """The JSON Rasa posts to `/webhook` to run `action`, with the fields as slots."""
    slots = {name: value for name, value in fields.items()}
    who = {"verified": identity.verified, "user_id": identity.user_id, "email": identity.email,
           "source": identity.source}
    return {
        "next_action": action,
        "sender_id": identity.user_id or "anonymous",
        "version": RASA_VERSION,
        "tracker": {
            "sender_id": identity.user_id or "anonymous",
            "slots": slots,
            "latest_message": {"text": text, "intent": {}, "entities": [], "metadata": {"supportbot_identity": who}},
            "events": [{"event": "slot", "name": name, "value": value, "timestamp": time.time()}
                       for name, value in slots.items()],
            "paused": False, "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen",
        },
        "domain": {"slots": {name: {"type": "any", "mappings": []} for name in slots}, "responses": {},
                   "intents": [], "entities": [], "actions": [action], "forms": {}},
    }


class RasaActionRunner:
    """The `ActionRunner` for actions with `rasa: <action name>`; `url` is the server's `/webhook`."""

    def __init__(self, url: str, *, client: httpx.AsyncClient | None = None, timeout: float = 10.0) -> None:
        self.url = url
        self.client = client or httpx.AsyncClient(follow_redirects=False, trust_env=False)
        self.timeout = timeout

    async def aclose(self) -> None:
        await self.client.aclose()

    async def run(self, spec: ActionSpec, fields: Mapping[str, Any], identity: Identity) -> ActionResult:
        if (refused := refusal(spec, identity)) is not None:
            return refused
        if spec.rasa is None:
            return ActionResult(status="failed", error=f"action '{spec.name}' is not a Rasa action")
        started = time.monotonic()
        try:
            response = await self.client.post(self.url, json=webhook_call(spec.rasa, fields, identity),
                                              timeout=self.timeout)
        except httpx.HTTPError as error:
            return ActionResult(status="failed", latency_ms=_ms(started),
                                error=f"action server unreachable: {type(error).__name__}")
        latency = _ms(started)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict):
            detail = body.get("error") if isinstance(body, dict) else None
            return ActionResult(status="failed", http_status=response.status_code, latency_ms=latency,
                                error=str(detail or f"HTTP {response.status_code}"))
        data = {e["name"]: e.get("value") for e in body.get("events") or []
                if isinstance(e, dict) and e.get("event") == "slot" and "name" in e}
        texts = [r["text"] for r in body.get("responses") or [] if isinstance(r, dict) and r.get("text")]
        result = outcome.finish(spec, data, fields, http_status=None, latency_ms=latency)
        if result.reply is None and texts and result.status in ("ok", "not_found"):
            result = result.model_copy(update={"reply": "\n".join(texts)})
        return result.model_copy(update={"http_status": response.status_code})


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
