"""The agent console API: auth, the live queue, claims, replies, notes, drafts and hand-back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from service.asgi import create_app
from service.container import build_container
from service.settings import Settings
from tests.connectors.test_webchat_api import (
    AGENT_TOKEN,
    agent_headers,
    client,  # noqa: F401  (the fixture)
    history,
    receive,
    receive_messages,
    say,
    start_conversation,
)
from tests.waiting import wait_for

ALICE, BOB = agent_headers("alice"), agent_headers("bob")


def escalate(client: TestClient, text: str = "Can you recommend a good lasagna recipe?"
             ) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A customer question the bot can't answer, and its handoff once the queue has it."""
    cid, headers = start_conversation(client)
    handoff_id = say(client, cid, headers, text)["handoff_id"]
    assert handoff_id

    def queued() -> dict[str, Any] | None:
        listed = client.get("/api/agent/handoffs", headers=ALICE).json()
        return next((h for h in listed if h["id"] == handoff_id), None)

    return cid, headers, wait_for(queued, what="the handoff in the queue")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": AGENT_TOKEN},
                                     {"Authorization": f"Basic {AGENT_TOKEN}"}])
def test_agent_endpoints_refuse_a_missing_or_wrong_token(client: TestClient, headers: dict[str, str]) -> None:
    cid, _ = start_conversation(client)
    calls = [("GET", "/api/agent/handoffs", None), ("GET", f"/api/agent/conversations/{cid}", None),
             ("POST", "/api/agent/handoffs/abc/claim", None),
             ("POST", f"/api/agent/conversations/{cid}/reply", {"text": "hi"}),
             ("POST", f"/api/agent/conversations/{cid}/note", {"text": "hi"}),
             ("POST", f"/api/agent/conversations/{cid}/handback", None),
             ("POST", f"/api/agent/conversations/{cid}/draft/approve", {}),
             ("POST", f"/api/agent/conversations/{cid}/draft/reject", {"reason": "x"})]
    for method, path, body in calls:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (method, path)


def test_live_events_refuse_a_wrong_token(client: TestClient) -> None:
    for path in ("/api/agent/live", "/api/agent/live?token=wrong"):
        with pytest.raises(WebSocketDisconnect) as closed:
            with client.websocket_connect(path) as ws:
                receive(ws)
        assert closed.value.code == 4401


def test_queue_lists_an_escalated_conversation_and_announces_it_live(client: TestClient) -> None:
    with client.websocket_connect(f"/api/agent/live?token={AGENT_TOKEN}") as live:
        cid, _, handoff = escalate(client)
        event = receive(live)
    assert event["type"] == "handoff" and event["conversation_id"] == cid
    assert handoff["conversation_id"] == cid and handoff["channel"] == "web"
    assert handoff["reason"] == "out_of_scope" and handoff["category"] == "general"
    assert handoff["status"] == "queued" and handoff["question"] == "Can you recommend a good lasagna recipe?"
    detail = client.get(f"/api/agent/conversations/{cid}", headers=ALICE).json()
    assert detail["state"]["owner"] == "pending_human" and "token_hash" not in detail["state"]
    assert detail["handoff"]["id"] == handoff["id"]
    assert [m["role"] for m in detail["transcript"]] == ["customer", "system"]


def test_two_agents_claim_one_wins_the_other_gets_409(client: TestClient) -> None:
    _, _, handoff = escalate(client)
    first = client.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=ALICE)
    second = client.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=BOB)
    assert first.status_code == 200 and first.json()["claimed_by"] == "alice"
    assert second.status_code == 409 and "alice" in second.json()["detail"]
    assert client.post("/api/agent/handoffs/nope/claim", headers=BOB).status_code == 404


def test_reply_reaches_the_customer_and_notes_stay_internal(client: TestClient) -> None:
    cid, headers, handoff = escalate(client)
    client.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=ALICE).raise_for_status()
    token = headers["X-Conversation-Token"]
    with client.websocket_connect(f"/api/conversations/{cid}/live?token={token}&after=3") as customer_live:
        note = client.post(f"/api/agent/conversations/{cid}/note", json={"text": "VIP, be nice"},
                           headers=ALICE)
        reply = client.post(f"/api/agent/conversations/{cid}/reply", json={"text": "Hello from Alice"},
                            headers=ALICE)
        assert note.status_code == 200 and reply.status_code == 200
        [live] = receive_messages(customer_live, 1)  # the note never reaches the customer's live stream
    # no account, so no display name: the widget says "Support agent", never the login
    assert (live["role"], live["name"], live["text"]) == ("agent", "", "Hello from Alice")

    customer_view = history(client, cid, headers)
    assert ("agent", "Hello from Alice") in [(m["role"], m["text"]) for m in customer_view]
    assert "VIP, be nice" not in [m["text"] for m in customer_view]
    transcript = client.get(f"/api/agent/conversations/{cid}", headers=ALICE).json()["transcript"]
    [note_entry] = [m for m in transcript if m["text"] == "VIP, be nice"]
    assert note_entry["internal"] is True and note_entry["role"] == "agent"


def test_blank_agent_text_is_422(client: TestClient) -> None:
    cid, _, _ = escalate(client)
    for kind in ("reply", "note"):
        response = client.post(f"/api/agent/conversations/{cid}/{kind}", json={"text": "  "}, headers=ALICE)
        assert response.status_code == 422


def test_bot_is_quiet_while_a_human_owns_and_answers_after_hand_back(client: TestClient) -> None:
    cid, headers, handoff = escalate(client)
    client.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=ALICE).raise_for_status()
    assert say(client, cid, headers, "How do I reset my password?")["decision"] is None  # goes to Alice

    response = client.post(f"/api/agent/conversations/{cid}/handback", headers=ALICE)
    assert response.status_code == 200 and response.json() == {"owner": "bot"}
    assert client.get("/api/agent/handoffs", headers=ALICE).json() == []
    assert say(client, cid, headers, "How do I reset my password?")["decision"] == "answered"
    last = history(client, cid, headers)[-1]
    assert last["role"] == "bot" and last["citations"][0]["title"] == "Resetting your password"


def test_unknown_conversation_is_404(client: TestClient) -> None:
    assert client.get("/api/agent/conversations/nope", headers=ALICE).status_code == 404
    assert client.post("/api/agent/conversations/nope/handback", headers=ALICE).status_code == 404


# ---------------------------------------------------------------- drafts (a category in the `draft` phase)


@pytest.fixture
def draft_client(settings: Settings, tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    gates = tmp_path / "categories.yaml"
    gates.write_text("categories:\n  - name: general\n    phase: draft\n", encoding="utf-8")
    settings.categories_file = gates
    built = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                            answerer=FirstSentenceAnswerer())
    with TestClient(create_app(settings, built)) as test_client:  # the app's shutdown closes `built`
        yield test_client


def drafted(client: TestClient) -> tuple[str, dict[str, str], dict[str, Any]]:
    cid, headers = start_conversation(client)
    assert say(client, cid, headers, "How do I reset my password?")["decision"] == "drafted"
    detail = client.get(f"/api/agent/conversations/{cid}", headers=ALICE).json()
    return cid, headers, detail


def test_draft_shows_passages_and_the_edited_text_is_what_the_customer_gets(draft_client: TestClient) -> None:
    cid, headers, detail = drafted(draft_client)
    draft = detail["state"]["pending_draft"]
    assert "Settings" in draft["text"]
    assert draft["citations"][0]["snippet"].startswith("To reset your password")
    assert [m["role"] for m in history(draft_client, cid, headers)] == ["customer"]  # nothing sent yet

    edited = draft_client.post(f"/api/agent/conversations/{cid}/draft/approve",
                               json={"text": "Open Settings > Security > Reset password."}, headers=ALICE)
    assert edited.status_code == 200
    last = history(draft_client, cid, headers)[-1]
    assert (last["role"], last["text"]) == ("agent", "Open Settings > Security > Reset password.")


def test_approved_draft_is_sent_as_is_and_reject_sends_nothing(draft_client: TestClient) -> None:
    cid, headers, detail = drafted(draft_client)
    approved = draft_client.post(f"/api/agent/conversations/{cid}/draft/approve", json={}, headers=ALICE)
    assert approved.status_code == 200 and approved.json()["text"] == detail["state"]["pending_draft"]["text"]
    assert history(draft_client, cid, headers)[-1]["role"] == "bot"

    cid, headers, _ = drafted(draft_client)
    rejected = draft_client.post(f"/api/agent/conversations/{cid}/draft/reject", json={"reason": "outdated"},
                                 headers=BOB)
    assert rejected.status_code == 200
    assert [m["role"] for m in history(draft_client, cid, headers)] == ["customer"]
    state = draft_client.get(f"/api/agent/conversations/{cid}", headers=BOB).json()["state"]
    assert state["owner"] == "human" and state["agent"] == "bob" and state["pending_draft"] is None
    again = draft_client.post(f"/api/agent/conversations/{cid}/draft/reject", json={}, headers=BOB)
    assert again.status_code == 409


def test_console_files_are_served(client: TestClient) -> None:
    page = client.get("/console")
    assert page.status_code == 200 and 'src="/console.js"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for path in ("/console.js", "/console/charts.js", "/console/console.css"):
        asset = client.get(path)
        assert asset.status_code == 200 and "innerHTML" not in asset.text, path
    assert client.get("/console/secrets.txt").status_code == 404


def test_customers_see_an_api_agent_by_their_account_name_never_as_agent(client: TestClient) -> None:
    token_only = {"Authorization": f"Bearer {AGENT_TOKEN}"}
    client.post("/api/agent/admin/agents", headers=token_only, json={
        "username": "carol", "password": "long-enough-1", "display_name": "Carol Diaz"}).raise_for_status()
    for headers_of_agent, expected in [(token_only, "A member of our support team has joined"),
                                       (agent_headers("carol"), "Carol Diaz from our support team has joined")]:
        cid, headers, handoff = escalate(client)
        client.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=headers_of_agent).raise_for_status()
        joined = [m["text"] for m in history(client, cid, headers) if m["role"] == "system"][-1]
        assert joined.startswith(expected)
