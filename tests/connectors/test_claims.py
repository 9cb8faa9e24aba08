"""Claims mean ownership: only the claimant or an admin acts on a claimed handoff, others get 403; unclaimed
handoffs stay open to every agent; and every state has a way out that needs no admin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from connectors.console.accounts import AccountRole, Accounts
from connectors.console.auth import COOKIE
from service.asgi import create_app
from service.container import Container, build_container
from service.settings import Settings
from tests.connectors.test_console_api import escalate
from tests.connectors.test_webchat_api import history, say, start_conversation

PASSWORDS = {"root": "rita-keeps-the-orbit-42", "alice": "amber-harbor-lantern-7", "bob": "copper-falcon-meadow-3"}
ROLES = {"root": AccountRole.ADMIN, "alice": AccountRole.AGENT, "bob": AccountRole.AGENT}


class Desks:
    """Three agents at their own browsers on one app: each keeps their session cookie and CSRF token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.sessions: dict[str, tuple[str, str]] = {}
        for name, password in PASSWORDS.items():
            signed = client.post("/api/agent/login", json={"username": name, "password": password})
            assert signed.status_code == 200, signed.text
            self.sessions[name] = (signed.cookies[COOKIE], signed.json()["csrf_token"])
            client.cookies.clear()

    def post(self, name: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        session, csrf = self.sessions[name]
        self.client.cookies.set(COOKIE, session)
        try:
            return self.client.post(path, json=body, headers={"X-CSRF-Token": csrf})
        finally:
            self.client.cookies.clear()

    def get(self, name: str, path: str) -> Any:
        self.client.cookies.set(COOKIE, self.sessions[name][0])
        try:
            response = self.client.get(path)
            assert response.status_code == 200, response.text
            return response.json()
        finally:
            self.client.cookies.clear()

    def state(self, cid: str) -> dict[str, Any]:
        return self.get("root", f"/api/agent/conversations/{cid}")  # type: ignore[no-any-return]


def seated(client: TestClient, container: Container) -> Desks:
    accounts = Accounts(container.redis, container.settings.redis_prefix)
    for name, password in PASSWORDS.items():
        client.portal.call(accounts.add, name, password, ROLES[name])  # type: ignore[attr-defined]
    return Desks(client)


@pytest.fixture
def desks(settings: Settings, container: Container) -> Iterator[Desks]:
    with TestClient(create_app(settings, container)) as client:
        yield seated(client, container)


@pytest.fixture
def draft_desks(settings: Settings, tmp_path) -> Iterator[Desks]:  # type: ignore[no-untyped-def]
    """The `general` category in the draft phase: the bot's answers wait for an agent's review."""
    gates = tmp_path / "categories.yaml"
    gates.write_text("categories:\n  - name: general\n    phase: draft\n", encoding="utf-8")
    settings.categories_file = gates
    built = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                            answerer=FirstSentenceAnswerer())
    with TestClient(create_app(settings, built)) as client:  # the app's shutdown closes `built`
        yield seated(client, built)


def claimed_by_alice(desks: Desks) -> tuple[str, dict[str, str], dict[str, Any]]:
    cid, headers, handoff = escalate(desks.client)
    assert desks.post("alice", f"/api/agent/handoffs/{handoff['id']}/claim").status_code == 200
    return cid, headers, handoff


def drafted(desks: Desks) -> tuple[str, dict[str, str], str]:
    cid, headers = start_conversation(desks.client)
    turn = say(desks.client, cid, headers, "How do I reset my password?")
    assert turn["decision"] == "drafted" and turn["handoff_id"]
    return cid, headers, turn["handoff_id"]


# (path under /api/agent, body) for each thing an agent does to a conversation or its handoff
ACTIONS = [("/handoffs/{hid}/assign", {"username": "bob"}), ("/conversations/{cid}/reply", {"text": "Bob here"}),
           ("/conversations/{cid}/resolve", None), ("/conversations/{cid}/handback", None),
           ("/conversations/{cid}/takeover", None)]
DRAFT_ACTIONS = [("/conversations/{cid}/draft/approve", {}), ("/conversations/{cid}/draft/reject", {"reason": "no"})]


def refused_for_bob(desks: Desks, path: str, body: dict[str, Any] | None, cid: str, hid: str) -> None:
    """Bob's try on Alice's claimed conversation is a 403 naming her, and changes nothing."""
    before = desks.state(cid)
    refused = desks.post("bob", "/api/agent" + path.format(cid=cid, hid=hid), body)
    assert refused.status_code == 403, refused.text
    detail = refused.json()["detail"]
    assert "alice" in detail and "admin" in detail
    after = desks.state(cid)
    assert after["state"]["agent"] == before["state"]["agent"] and after["state"]["owner"] == before["state"]["owner"]
    assert after["state"]["pending_draft"] == before["state"]["pending_draft"]
    assert after["handoff"]["claimed_by"] == "alice" and after["handoff"]["status"] == "claimed"


@pytest.mark.parametrize(("path", "body"), ACTIONS)
def test_another_agent_cannot_act_on_a_claimed_handoff(desks: Desks, path: str, body: dict[str, Any] | None) -> None:
    cid, headers, handoff = claimed_by_alice(desks)
    refused_for_bob(desks, path, body, cid, handoff["id"])
    assert "Bob here" not in [m["text"] for m in history(desks.client, cid, headers)]
    assert desks.post("alice", f"/api/agent/conversations/{cid}/reply", {"text": "Alice here"}).status_code == 200


@pytest.mark.parametrize(("path", "body"), DRAFT_ACTIONS)
def test_another_agent_cannot_approve_or_reject_a_claimed_draft(draft_desks: Desks, path: str,
                                                                body: dict[str, Any]) -> None:
    cid, headers, hid = drafted(draft_desks)
    assert draft_desks.post("alice", f"/api/agent/handoffs/{hid}/claim").status_code == 200
    refused_for_bob(draft_desks, path, body, cid, hid)
    assert [m["role"] for m in history(draft_desks.client, cid, headers)] == ["customer", "system"]  # "joined"
    # Alice still owns it and can finish the review herself
    assert draft_desks.post("alice", f"/api/agent/conversations/{cid}/draft/approve", {}).status_code == 200
    assert history(draft_desks.client, cid, headers)[-1]["role"] == "bot"


def test_the_claimant_passes_the_handoff_on_and_then_it_is_the_new_claimants(desks: Desks) -> None:
    cid, headers, handoff = claimed_by_alice(desks)
    assert desks.post("alice", f"/api/agent/handoffs/{handoff['id']}/assign", {"username": "bob"}).status_code == 200
    refused = desks.post("alice", f"/api/agent/conversations/{cid}/reply", {"text": "Alice again"})
    assert refused.status_code == 403 and "bob" in refused.json()["detail"]
    assert desks.post("bob", f"/api/agent/conversations/{cid}/reply", {"text": "Bob here"}).status_code == 200
    assert desks.post("bob", f"/api/agent/conversations/{cid}/resolve").status_code == 200
    assert desks.state(cid)["state"]["owner"] == "bot"


def test_an_admin_steps_in_on_any_claim(desks: Desks) -> None:
    cid, headers, handoff = claimed_by_alice(desks)
    assert desks.post("root", f"/api/agent/handoffs/{handoff['id']}/assign", {"username": "bob"}).status_code == 200
    assert desks.state(cid)["handoff"]["claimed_by"] == "bob"
    assert desks.post("root", f"/api/agent/conversations/{cid}/takeover").status_code == 200
    after = desks.state(cid)
    assert after["state"]["agent"] == "root" and after["handoff"]["claimed_by"] == "root"
    assert desks.post("root", f"/api/agent/conversations/{cid}/handback").status_code == 200


def test_unclaimed_handoffs_stay_open_to_every_agent(desks: Desks) -> None:
    cid, headers, handoff = escalate(desks.client)
    assert desks.post("bob", f"/api/agent/handoffs/{handoff['id']}/assign", {"username": "alice"}).status_code == 200
    assert desks.post("alice", f"/api/agent/conversations/{cid}/reply", {"text": "Alice here"}).status_code == 200

    cid, headers, handoff = escalate(desks.client)
    assert desks.post("bob", f"/api/agent/conversations/{cid}/reply", {"text": "Bob here"}).status_code == 200
    assert desks.state(cid)["handoff"]["claimed_by"] == "bob"  # replying claimed it


def test_a_conversation_taken_over_without_a_handoff_is_the_taker_s(desks: Desks) -> None:
    cid, headers = start_conversation(desks.client)
    say(desks.client, cid, headers, "How do I reset my password?")
    assert desks.post("alice", f"/api/agent/conversations/{cid}/takeover").status_code == 200
    for path, body in (("reply", {"text": "Bob here"}), ("resolve", None), ("handback", None), ("takeover", None)):
        refused = desks.post("bob", f"/api/agent/conversations/{cid}/{path}", body)
        assert refused.status_code == 403 and "alice" in refused.json()["detail"], path
    assert desks.post("alice", f"/api/agent/conversations/{cid}/handback").status_code == 200


def test_after_a_reject_the_rejecting_agent_carries_on_without_an_admin(draft_desks: Desks) -> None:
    # unclaimed draft: Bob rejects it and it is his to answer
    cid, headers, hid = drafted(draft_desks)
    assert draft_desks.post("bob", f"/api/agent/conversations/{cid}/draft/reject", {"reason": "old"}).status_code == 200
    state = draft_desks.state(cid)
    assert state["state"]["agent"] == "bob" and state["handoff"]["claimed_by"] == "bob"
    assert draft_desks.post("bob", f"/api/agent/conversations/{cid}/reply", {"text": "Bob here"}).status_code == 200
    assert draft_desks.post("alice", f"/api/agent/conversations/{cid}/reply", {"text": "Hi"}).status_code == 403
    assert history(draft_desks.client, cid, headers)[-1]["text"] == "Bob here"

    # claimed draft: Alice claims, rejects and answers herself
    cid, headers, hid = drafted(draft_desks)
    assert draft_desks.post("alice", f"/api/agent/handoffs/{hid}/claim").status_code == 200
    assert draft_desks.post("alice", f"/api/agent/conversations/{cid}/draft/reject", {}).status_code == 200
    assert draft_desks.post("alice", f"/api/agent/conversations/{cid}/reply", {"text": "Alice"}).status_code == 200
    assert draft_desks.post("alice", f"/api/agent/conversations/{cid}/resolve").status_code == 200


def test_an_admin_rejecting_someone_elses_draft_owns_the_conversation_whole(draft_desks: Desks) -> None:
    cid, headers, hid = drafted(draft_desks)
    assert draft_desks.post("alice", f"/api/agent/handoffs/{hid}/claim").status_code == 200
    assert draft_desks.post("root", f"/api/agent/conversations/{cid}/draft/reject", {}).status_code == 200
    state = draft_desks.state(cid)
    assert state["state"]["agent"] == "root" and state["handoff"]["claimed_by"] == "root"
    # and can pass it back to an agent, who then answers
    assert draft_desks.post("root", f"/api/agent/handoffs/{hid}/assign", {"username": "alice"}).status_code == 200
    assert draft_desks.post("alice", f"/api/agent/conversations/{cid}/reply", {"text": "Alice"}).status_code == 200
