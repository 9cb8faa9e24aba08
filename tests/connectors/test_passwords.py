"""Console passwords: long enough, not blank, and not a common or breached one, wherever one is set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connectors.console.accounts import Accounts
from connectors.console.passwords import MIN_LENGTH, WeakPassword, check_strength
from service.asgi import create_app
from service.container import Container
from service.settings import Settings
from tests.connectors.test_webchat_api import AGENT_TOKEN

STRONG = "amber-harbor-lantern-7"
ADMIN = {"Authorization": f"Bearer {AGENT_TOKEN}"}

# each weak password with the words its refusal must contain
WEAK = [("password", f"at least {MIN_LENGTH} characters"), ("12345678", f"at least {MIN_LENGTH} characters"),
        (" " * 8, "blank"), (" " * 12, "blank"), ("\t\n " * 4, "blank"),
        ("password1234", "common password"), ("qwertyuiop", "common password"), ("1234567890", "common password"),
        ("Password123!", "commonly used password")]


@pytest.mark.parametrize(("password", "reason"), WEAK)
def test_weak_passwords_are_refused_naming_the_reason(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        check_strength(password)
    assert reason in str(refused.value)


def test_a_password_made_of_the_agents_own_name_is_refused() -> None:
    check_strength("xtrelvani-99")  # strong enough for a stranger
    with pytest.raises(WeakPassword, match="own name"):
        check_strength("xtrelvani-99", user_inputs=("xtrelvani", "Sam Rivera"))


async def test_accounts_weigh_the_password_against_the_login_and_display_name(container: Container) -> None:
    accounts = Accounts(container.redis, container.settings.redis_prefix)
    for username, display_name in (("xtrelvani", ""), ("sam", "Xtrelvani Rivera")):
        with pytest.raises(WeakPassword, match="own name"):
            await accounts.add(username, "xtrelvani-99", display_name=display_name)


def test_long_passphrases_are_accepted_and_scored_within_the_librarys_bound() -> None:
    check_strength(STRONG)
    check_strength("a much longer passphrase " * 10)  # 250 characters: only the first 72 are scored


async def test_accounts_refuse_a_weak_password_and_store_nothing(container: Container) -> None:
    accounts = Accounts(container.redis, container.settings.redis_prefix)
    for password, reason in WEAK:
        with pytest.raises(WeakPassword, match=reason):
            await accounts.add("weakling", password)
    assert await accounts.get("weakling") is None and await accounts.all() == []
    assert (await accounts.add("strong", STRONG)).username == "strong"


def test_the_admin_page_answers_422_with_the_reason(settings: Settings, container: Container) -> None:
    with TestClient(create_app(settings, container)) as client:
        for password, reason in WEAK:
            refused = client.post("/api/agent/admin/agents", headers=ADMIN,
                                  json={"username": "carol", "password": password})
            assert refused.status_code == 422, password
            assert reason in str(refused.json()["detail"]), refused.text
        assert client.get("/api/agent/admin/agents", headers=ADMIN).json() == []
        added = client.post("/api/agent/admin/agents", headers=ADMIN, json={"username": "carol", "password": STRONG})
        assert added.status_code == 201


def test_a_weak_admin_password_setting_stops_the_start(settings: Settings, container: Container) -> None:
    settings.admin_password = "password"
    with pytest.raises(WeakPassword):
        with TestClient(create_app(settings, container)):
            pass


def test_the_cli_refuses_a_weak_password(tmp_path: Path, redis_url: str, prefix: str) -> None:
    env = {**os.environ, "SUPPORTBOT_REDIS_URL": redis_url, "SUPPORTBOT_REDIS_PREFIX": prefix}

    def add(password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "service.cli", "agents", "add", "dana", "--password-stdin"],
                              input=f"{password}\n", capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=120)

    weak = add("12345678")
    assert weak.returncode == 2 and f"at least {MIN_LENGTH} characters" in weak.stderr
    assert add(STRONG).returncode == 0

