"""`supportbot ask --url`: one question to a running server, so no model is loaded here. `--preview` asks the
server what its bot would do (its gates, phases changed on its admin page included) and opens nothing; without
it the question goes through the widget API as a customer's would, opening a real conversation and, when the
bot hands it off or drafts, a real item in the agents' queue."""

from __future__ import annotations

from typing import Any

import httpx


class ServerRefused(RuntimeError):
    """The server did not take the question (unreachable, wrong URL, rate limited); the text says which."""


def preview_server(url: str, question: str, *, token: str, channel: str = "web",
                   timeout: float = 60.0) -> dict[str, Any]:
    """The server's decision and text (a draft's too) for the question, with no conversation and no handoff."""
    try:
        with httpx.Client(base_url=url.rstrip("/"), timeout=timeout) as client:
            return _ok(client.post("/api/agent/preview", json={"text": question, "channel": channel},
                                   headers={"Authorization": f"Bearer {token}"}))
    except httpx.HTTPError as error:
        raise ServerRefused(f"cannot reach {url}: {error}") from error


def ask_server(url: str, question: str, *, token: str | None = None, timeout: float = 60.0) -> dict[str, Any]:
    """Start a conversation, send the question, and read back what the customer would see; with the agent token,
    also the draft waiting for review (the customer sees nothing of it until an agent approves it)."""
    try:
        with httpx.Client(base_url=url.rstrip("/"), timeout=timeout) as client:
            created = _ok(client.post("/api/conversations", json={}))
            headers = {"X-Conversation-Token": created["token"]}
            path = f"/api/conversations/{created['conversation_id']}/messages"
            turn = _ok(client.post(path, json={"text": question}, headers=headers))
            shown = _ok(client.get(path, headers=headers))["messages"]
            draft = None
            if turn["decision"] == "drafted" and token:
                detail = _ok(client.get(f"/api/agent/conversations/{created['conversation_id']}",
                                        headers={"Authorization": f"Bearer {token}"}))
                draft = detail["state"]["pending_draft"]
    except httpx.HTTPError as error:
        raise ServerRefused(f"cannot reach {url}: {error}") from error
    replies = [m for m in shown if m["role"] in ("bot", "agent", "system")]
    if draft is not None:
        return {"decision": turn["decision"], "handoff_id": turn["handoff_id"], "text": draft["text"],
                "citations": [{"title": c["title"], "source": c["source"]} for c in draft["citations"]]}
    return {"decision": turn["decision"], "handoff_id": turn["handoff_id"],
            "text": "\n\n".join(m["text"] for m in replies),
            "citations": [{"title": c["title"], "source": c["source"]} for m in replies for c in m["citations"]]}


def render(result: dict[str, Any], heading: str = "") -> str:
    """The decision, then the text a customer would read (or an agent review), then its sources."""
    lines = [f"[{result['decision']}]" + (f" {heading}" if heading else "")]
    if result["decision"] == "drafted":
        lines.append("(a draft: a person reviews it before the customer sees it)" if result["text"] else
                     "(a draft waits for review; --preview, or the agent token, shows its text)")
    if result["text"]:
        lines.append(result["text"])
    lines += [f"  - {c['title']} <{c['source']}>" for c in result["citations"]]
    return "\n".join(lines)


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise ServerRefused(f"{response.request.method} {response.request.url} answered {response.status_code}: "
                            f"{response.text[:200]}")
    return response.json()  # type: ignore[no-any-return]
