"""What the console's queue and tools show: the customer's latest words, search, canned responses, and the
widget's view of who answers next."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.connectors.test_console_accounts_api import accounts, sign_in, signed  # noqa: F401  (fixtures)
from tests.connectors.test_console_api import ALICE, escalate
from tests.connectors.test_webchat_api import (
    client,  # noqa: F401  (the fixture)
    history,
    say,
    start_conversation,
)


def test_queue_previews_the_customers_latest_message_not_the_one_that_asked_for_a_person(client: TestClient
                                                                                        ) -> None:
    cid, headers, handoff = escalate(client)
    say(client, cid, headers, "Actually, it is about my last invoice")
    [listed] = [h for h in client.get("/api/agent/handoffs", headers=ALICE).json() if h["id"] == handoff["id"]]
    assert listed["question"] == "Can you recommend a good lasagna recipe?"  # why it was opened stays known
    assert listed["latest"]["text"] == "Actually, it is about my last invoice"


def test_widget_learns_who_answers_next_from_each_send_and_from_the_history(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    assert say(client, cid, headers, "How do I reset my password?")["owner"] == "bot"
    assert say(client, cid, headers, "Can you recommend a good lasagna recipe?")["owner"] == "pending_human"
    assert say(client, cid, headers, "Hello? Anyone?")["owner"] == "pending_human"
    handoff_id = client.get(f"/api/agent/conversations/{cid}", headers=ALICE).json()["handoff"]["id"]
    client.post(f"/api/agent/handoffs/{handoff_id}/claim", headers=ALICE).raise_for_status()
    assert say(client, cid, headers, "Thanks for joining")["owner"] == "human"
    client.post(f"/api/agent/conversations/{cid}/resolve", headers=ALICE).raise_for_status()
    events = [m["event"] for m in history(client, cid, headers) if m["event"]]
    assert events == ["escalated", "joined", "resolved"]  # a reloaded widget replays the changes of hands


def conversation_saying(client: TestClient, text: str) -> str:
    cid, headers = start_conversation(client)
    say(client, cid, headers, text)
    return cid


def test_search_finds_every_word_anywhere_in_a_conversation_and_pages(client: TestClient) -> None:
    invoice_a = conversation_saying(client, "My invoice shows the wrong VAT number")
    invoice_b = conversation_saying(client, "Where do I download an invoice for March?")
    conversation_saying(client, "How do I reset my password?")
    client.post(f"/api/agent/conversations/{invoice_a}/note", json={"text": "Customer is in Lisbon"},
                headers=ALICE).raise_for_status()

    def found(q: str, **params: Any) -> dict[str, Any]:
        response = client.get("/api/agent/search", params={"q": q, **params}, headers=ALICE)
        assert response.status_code == 200, response.text
        return dict(response.json())

    assert {r["id"] for r in found("INVOICE")["results"]} == {invoice_a, invoice_b}
    [vat] = found("invoice vat")["results"]  # every word, in any message
    assert vat["id"] == invoice_a and "VAT" in vat["match"]["text"]
    assert [r["id"] for r in found("lisbon")["results"]] == [invoice_a]  # notes too
    assert found("lasagna")["results"] == [] and found("lasagna")["next"] is None

    first = found("invoice", limit=1)
    assert len(first["results"]) == 1 and first["next"] is not None
    second = found("invoice", limit=1, cursor=first["next"])
    assert {first["results"][0]["id"], second["results"][0]["id"]} == {invoice_a, invoice_b}
    if second["next"] is not None:  # the index may hold conversations of other tests' prefixes: none here
        assert found("invoice", limit=1, cursor=second["next"])["results"] == []


def test_search_refuses_an_empty_query_and_needs_an_agent(client: TestClient) -> None:
    assert client.get("/api/agent/search", params={"q": ""}, headers=ALICE).status_code == 422
    assert client.get("/api/agent/search", params={"q": "x"}).status_code == 401


def test_admins_manage_canned_responses_and_agents_only_read_them(signed: TestClient) -> None:
    csrf = sign_in(signed, "root", "orbit-kettle-amber-42")
    made = signed.post("/api/agent/admin/canned", json={"title": "Refund time", "text": "Refunds take 5 days."},
                       headers=csrf)
    assert made.status_code == 201, made.text
    canned_id = made.json()["id"]
    signed.post("/api/agent/admin/canned", json={"title": "Apology", "text": "Sorry for the wait!"},
                headers=csrf).raise_for_status()
    changed = signed.post(f"/api/agent/admin/canned/{canned_id}",
                          json={"title": "Refund time", "text": "Refunds take 5 working days."}, headers=csrf)
    assert changed.status_code == 200
    assert signed.post("/api/agent/admin/canned", json={"title": " ", "text": "x"}, headers=csrf).status_code == 422
    assert signed.post("/api/agent/admin/canned/nope/remove", headers=csrf).status_code == 404

    signed.post("/api/agent/logout", headers=csrf)
    agent = sign_in(signed, "alice", "alice-password")
    listed = signed.get("/api/agent/canned").json()
    assert [(c["title"], c["text"]) for c in listed] == [("Apology", "Sorry for the wait!"),
                                                         ("Refund time", "Refunds take 5 working days.")]
    refused = signed.post("/api/agent/admin/canned", json={"title": "Mine", "text": "x"}, headers=agent)
    assert refused.status_code == 403
    assert signed.post(f"/api/agent/admin/canned/{canned_id}/remove", headers=agent).status_code == 403
    assert len(signed.get("/api/agent/canned").json()) == 2
