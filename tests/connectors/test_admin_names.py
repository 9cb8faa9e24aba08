"""One spelling of an agent's name on every route that takes one, so the last-admin guard holds."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from connectors.console.accounts import AccountRole, Accounts, normalize_username
from service.asgi import create_app
from service.container import Container
from service.settings import Settings
from tests.connectors.test_console_accounts_api import sign_in
from tests.connectors.test_console_api import escalate
from tests.connectors.test_webchat_api import AGENT_TOKEN

PASSWORDS = {"root": "rita-keeps-the-orbit-42", "alice": "amber-harbor-lantern-7", "bob": "copper-falcon-meadow-3"}
TOKEN = {"Authorization": f"Bearer {AGENT_TOKEN}"}
SPELLINGS_OF_ROOT = [" root", "ROOT", " ROOT ", "Root\t", "\uff32\uff4f\uff4f\uff54", "root\u3000"]  # fullwidth too


@pytest.fixture
def client(settings: Settings, container: Container) -> Iterator[TestClient]:
    accounts = Accounts(container.redis, container.settings.redis_prefix)
    with TestClient(create_app(settings, container)) as test_client:
        for name, role in (("root", AccountRole.ADMIN), ("alice", AccountRole.AGENT), ("bob", AccountRole.AGENT)):
            test_client.portal.call(accounts.add, name, PASSWORDS[name], role)  # type: ignore[attr-defined]
        yield test_client


def names(client: TestClient) -> set[str]:
    return {a["username"] for a in client.get("/api/agent/admin/agents", headers=TOKEN).json()}


def remove(client: TestClient, name: str, headers: dict[str, str]) -> int:
    return client.post(f"/api/agent/admin/agents/{quote(name)}/remove", headers=headers).status_code


def test_one_spelling_strips_casefolds_and_folds_compatibility_forms() -> None:
    assert normalize_username("  \uff21\uff4c\uff49\uff43\uff45\u3000") == "alice"
    assert normalize_username("STRASSE") == normalize_username("stra\u00dfe") == "strasse"
    assert normalize_username("\u212bngstr\u00f6m") == normalize_username("\u00c5NGSTR\u00d6M")  # the Angstrom sign


@pytest.mark.parametrize("spelling", SPELLINGS_OF_ROOT)
def test_the_last_admin_cannot_remove_themselves_by_another_spelling(client: TestClient, spelling: str) -> None:
    root = sign_in(client, "root", PASSWORDS["root"])
    refused = client.post(f"/api/agent/admin/agents/{quote(spelling)}/remove", headers=root)
    assert refused.status_code == 409, refused.text
    assert "root" in names(client)


@pytest.mark.parametrize("spelling", SPELLINGS_OF_ROOT + ["root"])
def test_the_last_admin_cannot_be_removed_with_the_token_either(client: TestClient, spelling: str) -> None:
    refused = client.post(f"/api/agent/admin/agents/{quote(spelling)}/remove", headers=TOKEN)
    assert refused.status_code == 409 and "last admin" in refused.json()["detail"]
    assert "root" in names(client)


def test_an_admin_may_be_removed_while_another_remains(client: TestClient) -> None:
    promoted = client.post("/api/agent/admin/agents", headers=TOKEN, json={
        "username": "rita", "password": "velvet-orbit-kettle-42", "role": "admin"})
    assert promoted.status_code == 201
    assert remove(client, " RITA ", TOKEN) == 200
    assert names(client) == {"root", "alice", "bob"}
    assert remove(client, "\uff21\uff4c\uff49\uff43\uff45", TOKEN) == 200  # an agent, by a fullwidth spelling
    assert names(client) == {"root", "bob"}


def test_a_new_agent_is_stored_under_the_one_spelling_and_cannot_be_added_twice(client: TestClient) -> None:
    created = client.post("/api/agent/admin/agents", headers=TOKEN, json={"username": " Carol ",
                                                                         "password": "maple-sonar-tundra-5"})
    assert created.status_code == 201 and created.json()["username"] == "carol"
    for spelling in ("CAROL", "\uff43\uff41\uff52\uff4f\uff4c", "carol "):
        again = client.post("/api/agent/admin/agents", headers=TOKEN, json={"username": spelling,
                                                                           "password": "maple-sonar-tundra-5"})
        assert again.status_code == 409, spelling
    profile = client.put(f"/api/agent/admin/agents/{quote(' CAROL')}/profile", headers=TOKEN,
                         json={"display_name": "Carol Diaz"})
    assert profile.status_code == 200 and profile.json()["username"] == "carol"
    signed = client.post("/api/agent/login", json={"username": "\uff23\uff21\uff32\uff2f\uff2c",
                                                   "password": "maple-sonar-tundra-5"})
    assert signed.status_code == 200 and signed.json()["username"] == "carol"


def test_an_assignment_names_its_agent_in_any_spelling(client: TestClient) -> None:
    alice = sign_in(client, "alice", PASSWORDS["alice"])
    _, _, handoff = escalate(client)
    assigned = client.post(f"/api/agent/handoffs/{handoff['id']}/assign", headers=alice,
                           json={"username": "\uff22\uff2f\uff22 "})
    assert assigned.status_code == 200 and assigned.json()["claimed_by"] == "bob"


def test_the_token_acts_as_the_account_x_agent_names_in_any_case(client: TestClient) -> None:
    _, _, handoff = escalate(client)
    claimed = client.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers={**TOKEN, "X-Agent": " ALICE"})
    assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "alice"
