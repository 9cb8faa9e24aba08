"""Console sign-in: session cookie, CSRF on every change, roles, assignment, take-over, resolve, admin pages."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from bot.types import Message, Participant, Phase, Role
from connectors.console.accounts import AccountRole, Accounts
from connectors.console.auth import COOKIE
from service.container import Container, build_container
from service.settings import Settings
from tests.connectors.test_console_api import ALICE, escalate
from tests.connectors.test_webchat_api import (
    client,  # noqa: F401  (the fixture)
    history,
    receive,
    say,
    start_conversation,
)


@pytest.fixture
def accounts(container: Container) -> Accounts:
    accounts = Accounts(container.redis, container.settings.redis_prefix)

    async def add() -> None:
        await accounts.add("root", "orbit-kettle-amber-42", AccountRole.ADMIN, "Rita Root")
        await accounts.add("alice", "alice-password", AccountRole.AGENT, "Alice")
        await accounts.add("bob", "bob-password-1", AccountRole.AGENT, "Bob")

    return accounts, add  # type: ignore[return-value]


def sign_in(client: TestClient, username: str, password: str) -> dict[str, str]:
    """Signs `client` in (cookie jar) and returns the headers a change needs."""
    response = client.post("/api/agent/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    return {"X-CSRF-Token": response.json()["csrf_token"]}


@pytest.fixture
def signed(client: TestClient, accounts: Any) -> TestClient:
    client.portal.call(accounts[1])  # type: ignore[attr-defined]
    return client


def test_login_me_logout_and_wrong_password(signed: TestClient) -> None:
    assert signed.get("/api/agent/me").status_code == 401
    wrong = signed.post("/api/agent/login", json={"username": "alice", "password": "nope-nope"})
    assert wrong.status_code == 401 and COOKIE not in wrong.headers.get("set-cookie", "")
    csrf = sign_in(signed, "alice", "alice-password")
    me = signed.get("/api/agent/me").json()
    assert me["username"] == "alice" and me["display_name"] == "Alice" and me["role"] == "agent"
    assert signed.get("/api/agent/handoffs").status_code == 200
    assert signed.post("/api/agent/logout", headers=csrf).status_code == 200
    assert signed.get("/api/agent/handoffs").status_code == 401


def test_changes_with_the_cookie_need_the_csrf_token(signed: TestClient) -> None:
    csrf = sign_in(signed, "alice", "alice-password")
    cid, _, handoff = escalate(signed)
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        refused = signed.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=headers)
        assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    claimed = signed.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=csrf)
    assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "alice"
    reply = signed.post(f"/api/agent/conversations/{cid}/reply", json={"text": "Hi, Alice here"}, headers=csrf)
    assert reply.status_code == 200
    transcript = signed.get(f"/api/agent/conversations/{cid}").json()["transcript"]
    assert (transcript[-1]["role"], transcript[-1]["name"]) == ("agent", "Alice")


def test_repeated_wrong_passwords_lock_the_name_for_a_while(signed: TestClient) -> None:
    for _ in range(10):
        signed.post("/api/agent/login", json={"username": "bob", "password": "wrong-password"})
    locked = signed.post("/api/agent/login", json={"username": "bob", "password": "bob-password-1"})
    assert locked.status_code == 429


def test_agents_cannot_use_admin_endpoints_admins_can(signed: TestClient) -> None:
    csrf = sign_in(signed, "alice", "alice-password")
    assert signed.get("/api/agent/admin/agents").status_code == 403
    assert signed.post("/api/agent/admin/phases/general", json={"phase": "draft"}, headers=csrf).status_code == 403
    csrf = sign_in(signed, "root", "orbit-kettle-amber-42")
    listed = signed.get("/api/agent/admin/agents").json()
    assert {a["username"] for a in listed} == {"root", "alice", "bob"}
    assert all("password_hash" not in a for a in listed)
    added = signed.post("/api/agent/admin/agents", json={"username": "carol", "password": "carol-password",
                                                          "display_name": "Carol"}, headers=csrf)
    assert added.status_code == 201 and added.json()["role"] == "agent"
    assert signed.post("/api/agent/admin/agents", json={"username": "carol", "password": "carol-password"},
                       headers=csrf).status_code == 409
    assert signed.post("/api/agent/admin/agents/root/remove", headers=csrf).status_code == 409
    assert signed.post("/api/agent/admin/agents/carol/remove", headers=csrf).status_code == 200
    assert "carol" not in {a["username"] for a in signed.get("/api/agent/agents").json()}


def test_admin_phase_change_applies_to_the_next_turn_and_is_kept(signed: TestClient,
                                                                 container: Container) -> None:
    csrf = sign_in(signed, "root", "orbit-kettle-amber-42")
    changed = signed.post("/api/agent/admin/phases/general", json={"phase": "draft"}, headers=csrf)
    assert changed.status_code == 200
    assert signed.get("/api/agent/admin/phases").json()[0]["phase"] == "draft"
    cid, headers = start_conversation(signed)
    assert say(signed, cid, headers, "How do I reset my password?")["decision"] == "drafted"
    stored = signed.portal.call(container.redis.hget, f"{container.settings.redis_prefix}:phases", "general")  # type: ignore[attr-defined]
    assert stored == "draft"
    bad = signed.post("/api/agent/admin/phases/general", json={"phase": "yolo"}, headers=csrf)
    assert bad.status_code == 422


def test_assign_take_over_resolve_and_typing(signed: TestClient) -> None:
    csrf = sign_in(signed, "alice", "alice-password")
    cid, headers, handoff = escalate(signed)
    assert signed.post(f"/api/agent/handoffs/{handoff['id']}/assign", json={"username": "nobody"},
                       headers=csrf).status_code == 404
    assigned = signed.post(f"/api/agent/handoffs/{handoff['id']}/assign", json={"username": "bob"}, headers=csrf)
    assert assigned.status_code == 200 and assigned.json()["claimed_by"] == "bob"
    assert signed.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=csrf).status_code == 409
    token = headers["X-Conversation-Token"]
    with signed.websocket_connect(f"/api/conversations/{cid}/live?token={token}&after=99") as live:
        assert signed.post(f"/api/agent/conversations/{cid}/typing", headers=csrf).status_code == 200
        assert receive(live) == {"type": "typing", "role": "agent", "name": "Alice", "avatar_url": ""}
    assert signed.post(f"/api/agent/conversations/{cid}/resolve", headers=csrf).status_code == 403  # bob's now
    bob = sign_in(signed, "bob", "bob-password-1")
    resolved = signed.post(f"/api/agent/conversations/{cid}/resolve", headers=bob)
    assert resolved.status_code == 200
    csrf = sign_in(signed, "alice", "alice-password")
    last = history(signed, cid, headers)[-1]
    assert last["role"] == "system" and last["event"] == "resolved" and "resolved" in last["text"]
    assert signed.get("/api/agent/handoffs").json() == []

    bot_cid, bot_headers = start_conversation(signed)
    say(signed, bot_cid, bot_headers, "How do I reset my password?")
    assert signed.post(f"/api/agent/conversations/{bot_cid}/takeover", headers=csrf).status_code == 200
    state = signed.get(f"/api/agent/conversations/{bot_cid}").json()["state"]
    assert state["owner"] == "human" and state["agent"] == "alice"
    assert say(signed, bot_cid, bot_headers, "still there?")["decision"] is None  # the bot stays quiet
    listed = {c["id"]: c for c in signed.get("/api/agent/conversations").json()}
    assert listed[bot_cid]["owner"] == "human" and listed[cid]["owner"] == "bot"


def test_live_feed_with_the_session_cookie_and_not_from_another_site(signed: TestClient) -> None:
    sign_in(signed, "alice", "alice-password")
    with signed.websocket_connect("/api/agent/live") as live:
        cid, headers = start_conversation(signed)
        signed.post(f"/api/conversations/{cid}/typing", headers=headers)
        assert receive(live)["type"] == "typing"
    with pytest.raises(WebSocketDisconnect) as closed:
        with signed.websocket_connect("/api/agent/live", headers={"Origin": "http://evil.example"}) as ws:
            receive(ws)
    assert closed.value.code == 4401


def test_bearer_token_still_works_for_automation(client: TestClient) -> None:
    assert client.get("/api/agent/handoffs", headers=ALICE).status_code == 200
    assert client.get("/api/agent/admin/phases", headers=ALICE).status_code == 200


def test_feedback_is_journaled_and_analytics_count_it(client: TestClient, container: Container) -> None:
    cid, headers = start_conversation(client)
    say(client, cid, headers, "How do I reset my password?")
    feedback = f"/api/conversations/{cid}/feedback"
    assert client.post(feedback, json={"resolved": True}, headers=headers).status_code == 200
    assert client.post(feedback, json={"rating": 5}, headers=headers).status_code == 200
    assert client.post(feedback, json={"rating": 9}, headers=headers).status_code == 422
    assert client.post(f"/api/conversations/{cid}/feedback", json={}, headers=headers).status_code == 422
    assert client.post(f"/api/conversations/{cid}/feedback", json={"rating": 4}).status_code == 403
    escalate(client)

    data = client.get("/api/agent/analytics?days=7&window_hours=1", headers=ALICE).json()
    totals = data["totals"]
    assert totals["conversations"] == 2 and totals["answered_by_bot"] == 1
    assert totals["bot_resolved_confirmed"] == 1 and totals["csat_average"] == 5
    assert totals["escalated"] == {"out_of_scope": 1}  # the reader reads a recipe request as off-topic
    assert totals["automation_rate"] == pytest.approx(0.5)
    assert data["phase_report"][0]["category"] == "general"
    assert data["confidence"] == {"calibrated": False, "samples": 0, "accepted": 0, "min_confidence": 0.35}
    csv = client.get("/api/agent/analytics.csv?days=7", headers=ALICE)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    header, *lines = csv.text.strip().splitlines()
    assert header.startswith("day,category,channel,phase,conversations") and len(lines) == len(data["rows"])
    assert client.get("/api/agent/analytics").status_code == 401


def test_admin_password_creates_the_admin_account(settings, container: Container) -> None:  # type: ignore[no-untyped-def]
    from service.asgi import create_app

    settings.admin_password = "admin-password"
    with TestClient(create_app(settings, container)) as test_client:
        sign_in(test_client, "admin", "admin-password")
        assert test_client.get("/api/agent/me").json()["role"] == "admin"





async def test_a_phase_change_reaches_other_running_processes_on_their_next_turn(settings: Settings) -> None:
    """Two containers on one Redis stand for two web or worker processes: no restart is needed."""
    first, second = (build_container(settings.model_copy(), runner=InlineTaskRunner(),
                                     knowledge=sample_knowledge(), answerer=FirstSentenceAnswerer())
                     for _ in range(2))
    try:
        async def ask(container: Container, text: str) -> str:
            customer = Participant(role=Role.CUSTOMER, id="c1")
            state = await container.dialogue.start("web", customer)
            turn = await container.dialogue.handle(Message(conversation_id=state.id, channel="web",
                                                           sender=customer, text=text))
            assert turn.outcome is not None
            return turn.outcome.decision.value

        assert await ask(second, "How do I reset my password?") == "answered"
        await first.phase_overrides.set("general", Phase.DRAFT)
        assert await ask(second, "How do I reset my password?") == "drafted"
        assert (await second.dialogue.responder.current_gates()).phase_for("general", "email") is Phase.DRAFT
        await first.phase_overrides.set("general", Phase.FULL)
        assert await ask(second, "How do I reset my password?") == "answered"
    finally:
        for container in (first, second):
            await container.close()


def test_the_console_asks_whether_it_is_signed_in_without_a_failed_request(signed: TestClient) -> None:
    before = signed.get("/api/agent/session")
    assert before.status_code == 200 and before.json() == {"signed_in": False, "account": None}
    sign_in(signed, "alice", "alice-password")
    after = signed.get("/api/agent/session").json()
    assert after["signed_in"] is True and after["account"]["username"] == "alice"
    assert after["account"]["display_name"] == "Alice"
