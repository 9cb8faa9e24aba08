"""The widget's HTTP + WebSocket API on the real app, against the real Redis (isolated key prefix).

The small helpers at the top are shared with test_console_api.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from service.asgi import create_app
from service.container import Container
from service.settings import Settings

AGENT_TOKEN = "agent-secret"  # what the `settings` fixture configures


@pytest.fixture
def client(settings: Settings, container: Container) -> Iterator[TestClient]:
    # One portal (event loop) for the whole test: the Redis client and inline jobs live in it.
    with TestClient(create_app(settings, container)) as test_client:
        yield test_client


def agent_headers(name: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {AGENT_TOKEN}", "X-Agent": name}


def start_conversation(client: TestClient) -> tuple[str, dict[str, str]]:
    response = client.post("/api/conversations")
    assert response.status_code == 201, response.text
    body = response.json()
    return body["conversation_id"], {"X-Conversation-Token": body["token"]}


def say(client: TestClient, cid: str, headers: dict[str, str], text: str, message_id: str | None = None
        ) -> dict[str, Any]:
    body: dict[str, Any] = {"text": text, **({"id": message_id} if message_id else {})}
    response = client.post(f"/api/conversations/{cid}/messages", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()


def history(client: TestClient, cid: str, headers: dict[str, str], after: int = 0) -> list[dict[str, Any]]:
    response = client.get(f"/api/conversations/{cid}/messages", params={"after": after}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def receive(ws: WebSocketTestSession, timeout: float = 5.0) -> dict[str, Any]:
    """Like `ws.receive_json()`, but a missing message fails the test instead of hanging it."""

    async def next_message() -> Any:
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()  # the session's outbound stream; there is no public timed read

    message = ws.portal.call(next_message)
    ws._raise_on_close(message)
    return json.loads(message["text"])


def receive_messages(ws: WebSocketTestSession, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The next `count` message events (status events skipped)."""
    out: list[dict[str, Any]] = []
    while len(out) < count:
        event = receive(ws, timeout)
        if event["type"] == "message":
            out.append(event)
    return out


def nothing_more(ws: WebSocketTestSession, quiet: float = 0.5) -> None:
    try:
        extra = receive(ws, quiet)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected extra event: {extra}")


# ---------------------------------------------------------------- answers


def test_question_is_answered_with_citations_in_history(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    result = say(client, cid, headers, "How do I reset my password?", "msg-reset-1")
    assert result == {"duplicate": False, "decision": "answered", "handoff_id": None, "owner": "bot"}
    customer, bot = history(client, cid, headers)
    assert (customer["seq"], customer["id"], customer["role"]) == (1, "msg-reset-1", "customer")
    assert customer["text"] == "How do I reset my password?"
    assert bot["seq"] == 2 and bot["role"] == "bot" and "Settings" in bot["text"]
    assert bot["citations"] == [{"title": "Resetting your password", "source": "reset.md", "section": "",
                                 "url": "reset.md"}]
    assert history(client, cid, headers, after=1) == [bot]


def test_script_tag_is_stored_and_returned_verbatim(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    payload = "<script>alert(1)</script>"
    say(client, cid, headers, payload)
    response = client.get(f"/api/conversations/{cid}/messages", headers=headers)
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["messages"][0]["text"] == payload  # plain data: the widget renders it as text


def test_retried_post_with_the_same_client_id_is_answered_once(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    first = say(client, cid, headers, "reset my password", "retry-0001")
    again = say(client, cid, headers, "reset my password", "retry-0001")
    assert first["duplicate"] is False and first["decision"] == "answered"
    assert again == {"duplicate": True, "decision": None, "handoff_id": None, "owner": "bot"}
    assert [m["role"] for m in history(client, cid, headers)] == ["customer", "bot"]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_blank_text_is_refused_with_a_clear_message(client: TestClient, text: str) -> None:
    cid, headers = start_conversation(client)
    response = client.post(f"/api/conversations/{cid}/messages", json={"text": text}, headers=headers)
    assert response.status_code == 422
    assert "message text is empty" in json.dumps(response.json())
    assert history(client, cid, headers) == []


def test_missing_text_or_bad_client_id_is_422(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    assert client.post(f"/api/conversations/{cid}/messages", json={}, headers=headers).status_code == 422
    bad_id = {"id": "<b>x</b>-id", "text": "hello"}
    assert client.post(f"/api/conversations/{cid}/messages", json=bad_id, headers=headers).status_code == 422


@pytest.mark.parametrize("size, limit_in_detail", [(100_000, "65536 bytes"), (5_000, "4000 characters")])
def test_too_long_text_is_413(client: TestClient, size: int, limit_in_detail: str) -> None:
    """100 kB trips the 64 KiB body limit; 5,000 characters trip `max_message_chars` (4,000)."""
    cid, headers = start_conversation(client)
    response = client.post(f"/api/conversations/{cid}/messages", json={"text": "x" * size}, headers=headers)
    assert response.status_code == 413
    assert limit_in_detail in response.json()["detail"]
    assert history(client, cid, headers) == []


@pytest.mark.parametrize("body", [b'{"text": "caf\xe9 \xff\xfe"}', b"\xff\xfe\x00garbage", b'{"text": '])
def test_undecodable_body_is_a_client_error(client: TestClient, body: bytes) -> None:
    cid, headers = start_conversation(client)
    response = client.post(f"/api/conversations/{cid}/messages", content=body,
                           headers={**headers, "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert history(client, cid, headers) == []


# ---------------------------------------------------------------- access


def test_unknown_conversation_or_wrong_token_is_403(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    other_cid, other_headers = start_conversation(client)
    cases = [
        ("unknown conversation", "0" * 32, headers),
        ("forged token", cid, {"X-Conversation-Token": "forged-token"}),
        ("missing token", cid, {}),
        ("another conversation's token", cid, other_headers),
        ("over-long id", "x" * 500, headers),
    ]
    for label, conversation_id, hdrs in cases:
        read = client.get(f"/api/conversations/{conversation_id}/messages", headers=hdrs)
        write = client.post(f"/api/conversations/{conversation_id}/messages", json={"text": "hi"},
                            headers=hdrs)
        assert (read.status_code, write.status_code) == (403, 403), label
        assert read.json()["detail"] == "unknown conversation or wrong token"
    assert history(client, cid, headers) == [] and history(client, other_cid, other_headers) == []


def test_websocket_refuses_unknown_conversation_or_wrong_token_with_4403(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    token = headers["X-Conversation-Token"]
    for path in (f"/api/conversations/{'0' * 32}/live?token={token}",
                 f"/api/conversations/{cid}/live?token=forged",
                 f"/api/conversations/{cid}/live"):
        with pytest.raises(WebSocketDisconnect) as closed:
            with client.websocket_connect(path) as ws:
                receive(ws)
        assert closed.value.code == 4403, path


# ---------------------------------------------------------------- live


def test_websocket_streams_the_reply_and_resumes_without_duplicates(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    token = headers["X-Conversation-Token"]
    with client.websocket_connect(f"/api/conversations/{cid}/live?token={token}&after=0") as ws:
        say(client, cid, headers, "How do I reset my password?", "live-00001")
        customer, bot = receive_messages(ws, 2)
        assert (customer["seq"], customer["id"], customer["role"]) == (1, "live-00001", "customer")
        assert bot["seq"] == 2 and bot["role"] == "bot"
        assert bot["citations"][0]["title"] == "Resetting your password"
        nothing_more(ws)

    # Disconnected (say, a train tunnel) while the customer asks again from another tab.
    say(client, cid, headers, "How are refunds for annual plans handled?", "live-00002")
    with client.websocket_connect(f"/api/conversations/{cid}/live?token={token}&after=2") as ws:
        missed = receive_messages(ws, 2)
        assert [m["seq"] for m in missed] == [3, 4]
        assert missed[0]["id"] == "live-00002" and "Refunds" in missed[1]["text"]
        say(client, cid, headers, "reset password link validity", "live-00003")
        assert [m["seq"] for m in receive_messages(ws, 2)] == [5, 6]  # live again, nothing replayed twice
        nothing_more(ws)
    assert [m["seq"] for m in history(client, cid, headers)] == [1, 2, 3, 4, 5, 6]


def test_websocket_treats_a_negative_resume_point_as_the_start(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    say(client, cid, headers, "reset my password")
    token = headers["X-Conversation-Token"]
    with client.websocket_connect(f"/api/conversations/{cid}/live?token={token}&after=-1") as ws:
        assert [m["seq"] for m in receive_messages(ws, 2)] == [1, 2]
        nothing_more(ws, 0.3)


def test_escalation_acknowledgement_arrives_live(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    token = headers["X-Conversation-Token"]
    with client.websocket_connect(f"/api/conversations/{cid}/live?token={token}") as ws:
        result = say(client, cid, headers, "Can you recommend a good lasagna recipe?")
        assert result["decision"] == "escalated" and result["handoff_id"]
        _, ack = receive_messages(ws, 2)
        assert ack["role"] == "system" and "support team" in ack["text"]


def test_widget_files_are_served(client: TestClient) -> None:
    script = client.get("/widget.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "attachShadow" in script.text and "innerHTML" not in script.text
    page = client.get("/demo")
    assert page.status_code == 200 and 'src="/widget.js"' in page.text
    policy = page.headers["content-security-policy"]  # no inline script may run on the page that hosts the widget
    assert "default-src 'self'" in policy and "script-src" not in policy and "frame-ancestors 'self'" in policy
