"""Customers see an agent's display name (and avatar), set by admins apart from the login; never the login."""

from __future__ import annotations

from fastapi.testclient import TestClient

from connectors.console.accounts import AccountRole, Accounts
from service.asgi import create_app
from service.container import Container
from service.settings import Settings
from tests.connectors.test_console_accounts_api import sign_in
from tests.connectors.test_console_api import escalate
from tests.connectors.test_webchat_api import (
    agent_headers,
    client,  # noqa: F401  (the fixture)
    history,
    receive,
)

AVATAR = "https://cdn.example.test/sam.png"


def test_customers_see_the_display_name_and_avatar_an_admin_set(settings: Settings, container: Container) -> None:
    settings.admin_password = "admin-password"
    with TestClient(create_app(settings, container)) as client:
        admin = sign_in(client, "admin", "admin-password")
        created = client.post("/api/agent/admin/agents", headers=admin, json={
            "username": "srivera", "password": "quiet-lantern-97", "display_name": "Sam Rivera", "avatar_url": AVATAR})
        assert created.status_code == 201 and created.json()["display_name"] == "Sam Rivera"
        bad = client.put("/api/agent/admin/agents/srivera/profile", headers=admin,
                         json={"display_name": "Sam", "avatar_url": "javascript:alert(1)"})
        assert bad.status_code == 422  # refused whole: the name stays too
        listed = client.get("/api/agent/admin/agents").json()
        assert [(a["username"], a["display_name"]) for a in listed] == [("admin", ""), ("srivera", "Sam Rivera")]
        assert not any({"password_hash", "totp_secret"} & set(a) for a in listed)  # secrets stay in Redis
        assert client.post("/api/agent/logout", headers=admin).status_code == 200

        sam = sign_in(client, "srivera", "quiet-lantern-97")
        cid, headers, handoff = escalate(client)
        assert client.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=sam).status_code == 200
        token = headers["X-Conversation-Token"]
        with client.websocket_connect(f"/api/conversations/{cid}/live?token={token}&after=99") as live:
            assert client.post(f"/api/agent/conversations/{cid}/typing", headers=sam).status_code == 200
            assert receive(live) == {"type": "typing", "role": "agent", "name": "Sam Rivera", "avatar_url": AVATAR}
        client.post(f"/api/agent/conversations/{cid}/reply", headers=sam, json={"text": "Hi, I can help."})
        client.post(f"/api/agent/conversations/{cid}/resolve", headers=sam)

        seen = history(client, cid, headers)
        joined = next(m for m in seen if "joined" in m["text"])
        assert joined["text"] == "Sam Rivera from our support team has joined the conversation."
        reply = next(m for m in seen if m["role"] == "agent")
        assert (reply["name"], reply["avatar_url"]) == ("Sam Rivera", AVATAR)
        assert seen[-1]["text"].startswith("Sam Rivera marked this conversation as resolved")
        assert not any("srivera" in str(m) for m in seen)


def test_a_renamed_agent_speaks_with_the_new_name_from_the_next_message(settings: Settings,
                                                                          container: Container) -> None:
    settings.admin_password = "admin-password"
    with TestClient(create_app(settings, container)) as client:
        admin = sign_in(client, "admin", "admin-password")
        cid, headers, handoff = escalate(client)
        client.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=admin)
        changed = client.put("/api/agent/admin/agents/admin/profile", headers=admin,
                             json={"display_name": "Priya Shah", "avatar_url": ""})
        assert changed.status_code == 200 and changed.json()["display_name"] == "Priya Shah"
        assert client.get("/api/agent/me").json()["display_name"] == "Priya Shah"
        client.post(f"/api/agent/conversations/{cid}/reply", headers=admin, json={"text": "Still here."})
        seen = history(client, cid, headers)
        assert [m["name"] for m in seen if m["role"] == "agent"] == ["Priya Shah"]
        assert client.put("/api/agent/admin/agents/nobody/profile", headers=admin,
                          json={"display_name": "X"}).status_code == 404


def test_the_start_up_admin_is_not_shown_to_customers_as_admin(settings: Settings, container: Container) -> None:
    """Without a display name the customer reads about the team, not "Admin" or the login."""
    settings.admin_password = "admin-password"
    with TestClient(create_app(settings, container)) as client:
        admin = sign_in(client, "admin", "admin-password")
        cid, headers, handoff = escalate(client)
        client.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=admin)
        client.post(f"/api/agent/conversations/{cid}/resolve", headers=admin)
        texts = [m["text"] for m in history(client, cid, headers)]
        assert "A member of our support team has joined the conversation." in texts
        assert texts[-1].startswith("Our support team marked this conversation as resolved")
        assert not any("admin" in t.lower() for t in texts)


def test_the_start_up_admin_gets_the_configured_display_name(settings: Settings, container: Container) -> None:
    settings.admin_password = "admin-password"
    settings.admin_display_name = "Sam Rivera"
    with TestClient(create_app(settings, container)) as client:
        admin = sign_in(client, "admin", "admin-password")
        cid, headers, handoff = escalate(client)
        client.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=admin)
        texts = [m["text"] for m in history(client, cid, headers)]
        assert "Sam Rivera from our support team has joined the conversation." in texts


def test_a_script_acting_as_an_account_speaks_with_its_display_name(client: TestClient,
                                                                     container: Container) -> None:
    accounts = Accounts(container.redis, container.settings.redis_prefix)
    add = accounts.add("alice", "alice-password", AccountRole.AGENT, "Alice Moreau")
    client.portal.call(lambda: add)  # type: ignore[attr-defined]
    cid, headers, handoff = escalate(client)
    client.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=agent_headers("alice"))
    client.post(f"/api/agent/conversations/{cid}/reply", headers=agent_headers("alice"), json={"text": "Hello"})
    seen = history(client, cid, headers)
    assert "Alice Moreau from our support team has joined the conversation." in [m["text"] for m in seen]
    assert {m["name"] for m in seen if m["role"] == "agent"} == {"Alice Moreau"}
