"""Defects a public website finds, each reproduced: unencodable text, lockout bypass and abuse, sessions that
outlive their account, agents speaking in another agent's claimed conversation, repeated CSAT."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from service.asgi import create_app
from service.container import build_container
from service.settings import Settings
from tests.connectors.test_console_accounts_api import accounts, sign_in, signed  # noqa: F401  (fixtures)
from tests.connectors.test_console_api import ALICE, escalate
from tests.connectors.test_webchat_api import agent_headers, client, history, say, start_conversation  # noqa: F401

LONE = "\ud800"
BOB = agent_headers("bob")


def post_json(client: TestClient, url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    """JSON with `\\ud800` escapes, as a browser's JSON.stringify sends a lone surrogate."""
    return client.post(url, content=json.dumps(body), headers={"Content-Type": "application/json", **(headers or {})})


def test_lone_surrogates_are_replaced_not_a_server_error(signed: TestClient) -> None:
    created = post_json(signed, "/api/conversations", {"name": f"Ada {LONE}"})
    assert created.status_code == 201, created.text
    cid, headers = created.json()["conversation_id"], {"X-Conversation-Token": created.json()["token"]}
    sent = post_json(signed, f"/api/conversations/{cid}/messages", {"text": f"How do I reset my password? {LONE}"},
                     headers)
    assert sent.status_code == 202, sent.text
    assert history(signed, cid, headers)[0]["text"] == "How do I reset my password? \ufffd"
    cid, _, handoff = escalate(signed)
    assert post_json(signed, f"/api/agent/conversations/{cid}/note", {"text": f"note {LONE}"},
                     ALICE).status_code == 200
    assert post_json(signed, f"/api/agent/conversations/{cid}/reply", {"text": f"reply {LONE}"},
                     ALICE).status_code == 200
    login = post_json(signed, "/api/agent/login", {"username": f"alice{LONE}", "password": f"pw{LONE}word"})
    assert login.status_code == 401


def test_lockout_is_per_username_and_address_and_whitespace_does_not_bypass_it(signed: TestClient) -> None:
    for attempt in range(10):
        name = [" alice", "alice ", "ALICE", "alice"][attempt % 4]
        assert signed.post("/api/agent/login", json={"username": name, "password": "wrong-guess"}
                           ).status_code == 401
    for name in ("alice", " alice", "Alice\t"):
        locked = signed.post("/api/agent/login", json={"username": name, "password": "alice-password"})
        assert locked.status_code == 429, (name, locked.text)
    # the lock is this address's: alice signing in from elsewhere is not locked out by someone else's guesses
    elsewhere = signed.post("/api/agent/login", json={"username": "alice", "password": "alice-password"},
                            headers={"X-Forwarded-For": "203.0.113.9"})
    assert elsewhere.status_code == 429  # the proxy header is not trusted unless configured
    assert signed.post("/api/agent/login", json={"username": "bob", "password": "bob-password-1"}
                       ).status_code == 200  # another account from the same address still works


def test_concurrent_guesses_cannot_exceed_the_limit(signed: TestClient) -> None:
    def guess(_: int) -> int:
        return signed.post("/api/agent/login", json={"username": "bob", "password": "wrong-guess"}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(guess, range(40)))
    assert codes.count(401) <= 10 and codes.count(429) >= 30


def test_removing_an_account_ends_its_sessions(signed: TestClient, accounts: Any) -> None:
    csrf = sign_in(signed, "alice", "alice-password")
    assert signed.get("/api/agent/me").status_code == 200
    signed.portal.call(accounts[0].remove, "alice")
    assert signed.get("/api/agent/me").status_code == 401
    assert signed.get("/api/agent/handoffs", headers=csrf).status_code == 401


def test_only_the_claiming_agent_speaks_in_a_claimed_conversation(signed: TestClient) -> None:
    cid, headers, handoff = escalate(signed)
    alice = sign_in(signed, "alice", "alice-password")
    assert signed.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=alice).status_code == 200
    bob = sign_in(signed, "bob", "bob-password-1")
    refused = signed.post(f"/api/agent/conversations/{cid}/reply", json={"text": "Bob here"}, headers=bob)
    assert refused.status_code == 403 and "alice" in refused.json()["detail"]
    alice = sign_in(signed, "alice", "alice-password")
    assert signed.post(f"/api/agent/conversations/{cid}/reply", json={"text": "Alice here"},
                       headers=alice).status_code == 200
    texts = [m["text"] for m in history(signed, cid, headers)]
    assert "Alice here" in texts and "Bob here" not in texts
    # an admin may step in; the handoff then says so
    root = sign_in(signed, "root", "orbit-kettle-amber-42")
    assert signed.post(f"/api/agent/conversations/{cid}/reply", json={"text": "Rita here"},
                       headers=root).status_code == 200
    conversation = signed.get(f"/api/agent/conversations/{cid}").json()
    assert conversation["handoff"]["claimed_by"] == "root"


def test_csat_counts_once_per_conversation(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    feedback = f"/api/conversations/{cid}/feedback"
    assert client.post(feedback, json={"rating": 5}, headers=headers).status_code == 200
    again = client.post(feedback, json={"rating": 1}, headers=headers)
    assert again.status_code == 409
    totals = client.get("/api/agent/analytics", headers=ALICE).json()["totals"]
    assert totals["csat_responses"] <= 1


def limited_client(settings: Settings, **rules: str) -> TestClient:
    limited = settings.model_copy(update={"rate_limits": rules, "trusted_proxy_header": "X-Forwarded-For"})
    container = build_container(limited, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                answerer=FirstSentenceAnswerer())
    return TestClient(create_app(limited, container))


def test_conversation_creation_and_messages_are_rate_limited(settings: Settings) -> None:
    with limited_client(settings, conversations="3/minute", messages_per_conversation="4/minute") as limited:
        ada = {"X-Forwarded-For": "198.51.100.7"}
        codes = [limited.post("/api/conversations", headers=ada).status_code for _ in range(5)]
        assert codes == [201, 201, 201, 429, 429]
        refused = limited.post("/api/conversations", headers=ada)
        assert 1 <= int(refused.headers["Retry-After"]) <= 60 and "conversations" in refused.json()["detail"]
        other = limited.post("/api/conversations", headers={"X-Forwarded-For": "203.0.113.20"})
        assert other.status_code == 201  # another visitor is not held back by Ada's flood
        body = other.json()
        headers = {"X-Conversation-Token": body["token"], "X-Forwarded-For": "203.0.113.20"}
        sent = [limited.post(f"/api/conversations/{body['conversation_id']}/messages",
                             json={"text": f"question {n}"}, headers=headers).status_code for n in range(6)]
        assert sent == [202, 202, 202, 202, 429, 429]
        assert len(history(limited, body["conversation_id"], headers)) >= 4  # what was accepted is all there


def test_console_sign_in_is_rate_limited_per_address(settings: Settings) -> None:
    with limited_client(settings, login="5/minute") as limited:
        codes = [limited.post("/api/agent/login", json={"username": f"user{n}", "password": "guess-guess"},
                              headers={"X-Forwarded-For": "198.51.100.9"}).status_code for n in range(7)]
        assert codes == [401] * 5 + [429] * 2


def test_history_comes_in_pages(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    for n in range(6):
        say(client, cid, headers, f"question number {n}")
    first = client.get(f"/api/conversations/{cid}/messages?limit=5", headers=headers).json()
    assert first["more"] is True and first["last_seq"] == 5
    rest = client.get(f"/api/conversations/{cid}/messages?after=5&limit=500", headers=headers).json()
    whole = client.get(f"/api/conversations/{cid}/messages", headers=headers).json()
    assert rest["more"] is False and rest["last_seq"] == whole["last_seq"] > 5
    assert [m["text"] for m in first["messages"] + rest["messages"]] == [m["text"] for m in whole["messages"]]
    assert client.get(f"/api/conversations/{cid}/messages?limit=501", headers=headers).status_code == 422


def test_api_docs_are_off_unless_asked_for_and_responses_carry_security_headers(settings: Settings) -> None:
    with limited_client(settings) as production:
        assert production.get("/openapi.json").status_code == 404 and production.get("/docs").status_code == 404
        page = production.get("/console")
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert production.get("/widget.js").headers["referrer-policy"] == "strict-origin-when-cross-origin"
    with limited_client(settings.model_copy(update={"api_docs": True})) as demo:
        assert demo.get("/openapi.json").status_code == 200


def test_one_customers_data_is_exported_and_erased(client: TestClient) -> None:
    cid, headers, handoff = escalate(client, "Can you recommend a lasagna recipe? Call me on +31 20 555 0142")
    other, other_headers = start_conversation(client)
    say(client, other, other_headers, "How do I reset my password?")
    customer = client.get(f"/api/agent/conversations/{cid}", headers=ALICE).json()["state"]["customer"]["id"]

    exported = client.get(f"/api/agent/admin/privacy/{customer}", headers=ALICE).json()
    [conversation] = exported["conversations"]
    assert conversation["state"]["id"] == cid and conversation["handoffs"][0]["id"] == handoff["id"]
    assert "lasagna" in conversation["messages"][0]["text"]
    assert exported["journal"] and all(e["conversation_id"] == cid for e in exported["journal"])
    assert "reset my password" not in json.dumps(exported)

    erased = client.delete(f"/api/agent/admin/privacy/{customer}", headers=ALICE).json()
    assert erased["conversations"] == 1 and erased["handoffs"] == 1 and erased["messages"] >= 2
    assert client.get(f"/api/agent/conversations/{cid}", headers=ALICE).status_code == 404
    assert client.get(f"/api/agent/admin/privacy/{customer}", headers=ALICE).json()["conversations"] == []
    assert handoff["id"] not in [h["id"] for h in client.get("/api/agent/handoffs", headers=ALICE).json()]
    assert len(history(client, other, other_headers)) >= 2  # someone else's conversation is untouched
    assert client.delete(f"/api/agent/admin/privacy/{customer}", headers={"X-Agent": "x"}).status_code == 401
    container = client.app.state.container  # type: ignore[attr-defined]
    [audit] = client.portal.call(container.redis.lrange, f"{container.settings.redis_prefix}:audit", 0, -1)
    assert customer not in str(audit) and "lasagna" not in str(audit) and '"conversations": 1' in str(audit)
