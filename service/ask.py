"""`supportbot ask --url`: one question to a running server through the widget API, so no model is loaded here."""

from __future__ import annotations

from typing import Any

import httpx


class ServerRefused(RuntimeError):
    """The server did not take the question (unreachable, wrong URL, rate limited); the text says which."""


def ask_server(url: str, question: str, *, timeout: float = 60.0) -> dict[str, Any]:
    """Start a conversation, send the question, and read back what the customer would see."""
    try:
        with httpx.Client(base_url=url.rstrip("/"), timeout=timeout) as client:
            created = _ok(client.post("/api/conversations", json={}))
            headers = {"X-Conversation-Token": created["token"]}
            path = f"/api/conversations/{created['conversation_id']}/messages"
            turn = _ok(client.post(path, json={"text": question}, headers=headers))
            shown = _ok(client.get(path, headers=headers))["messages"]
    except httpx.HTTPError as error:
        raise ServerRefused(f"cannot reach {url}: {error}") from error
    replies = [m for m in shown if m["role"] in ("bot", "agent", "system")]
    return {"decision": turn["decision"], "handoff_id": turn["handoff_id"],
            "text": "\n\n".join(m["text"] for m in replies),
            "citations": [{"title": c["title"], "source": c["source"]} for m in replies for c in m["citations"]]}


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise ServerRefused(f"{response.request.method} {response.request.url} answered {response.status_code}: "
                            f"{response.text[:200]}")
    return response.json()  # type: ignore[no-any-return]
