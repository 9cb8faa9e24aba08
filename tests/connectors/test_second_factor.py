"""Console accounts with a second factor, and an admin's way out of a lockout, through the API and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyotp
from fastapi.testclient import TestClient

from connectors.console.accounts import Accounts
from tests.connectors.test_console_accounts_api import accounts, signed  # noqa: F401  (fixtures)
from tests.connectors.test_webchat_api import client  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]


def enable(signed: TestClient, accounts: Any, username: str) -> pyotp.TOTP:
    store: Accounts = accounts[0]
    uri = signed.portal.call(store.enable_second_factor, username)  # type: ignore[attr-defined]
    assert uri.startswith("otpauth://totp/")
    return pyotp.TOTP(parse_qs(urlparse(uri).query)["secret"][0])


def login(signed: TestClient, body: dict[str, str]) -> Any:
    return signed.post("/api/agent/login", json=body)


def test_an_account_with_a_second_factor_needs_the_current_code_once(signed: TestClient, accounts: Any) -> None:
    totp = enable(signed, accounts, "alice")
    password = {"username": "alice", "password": "alice-password"}
    missing = login(signed, password)
    assert missing.status_code == 401 and missing.json()["detail"] == "authenticator code required"
    assert "set-cookie" not in missing.headers
    wrong_code = str((int(totp.now()) + 1) % 1_000_000).zfill(6)
    assert login(signed, {**password, "code": wrong_code}).status_code == 401
    code = totp.now()
    assert login(signed, {"username": "alice", "password": "not-her-password", "code": code}).status_code == 401
    assert login(signed, {**password, "code": code}).status_code == 200
    signed.cookies.clear()
    replayed = login(signed, {**password, "code": code})  # a code seen once cannot sign in again
    assert replayed.status_code == 401
    assert login(signed, {"username": "bob", "password": "bob-password-1"}).status_code == 200  # others unchanged


def test_wrong_codes_count_toward_the_lockout(signed: TestClient, accounts: Any) -> None:
    enable(signed, accounts, "alice")
    for _ in range(10):
        assert login(signed, {"username": "alice", "password": "alice-password", "code": "000000"}
                     ).status_code == 401
    assert login(signed, {"username": "alice", "password": "alice-password", "code": "000000"}).status_code == 429


def supportbot(*args: str, prefix: str, redis_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env.update(SUPPORTBOT_REDIS_URL=redis_url, SUPPORTBOT_REDIS_PREFIX=prefix)
    return subprocess.run([sys.executable, "-m", "service.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_an_admin_unlocks_and_sets_up_a_second_factor_from_the_command_line(
        signed: TestClient, accounts: Any, prefix: str, redis_url: str) -> None:
    for _ in range(10):
        login(signed, {"username": "bob", "password": "wrong-guess"})
    assert login(signed, {"username": "bob", "password": "bob-password-1"}).status_code == 429
    unlocked = supportbot("agents", "unlock", " Bob", prefix=prefix, redis_url=redis_url)
    assert unlocked.returncode == 0, unlocked.stderr
    assert '"cleared": 1' in unlocked.stdout
    assert login(signed, {"username": "bob", "password": "bob-password-1"}).status_code == 200
    signed.cookies.clear()

    enrolled = supportbot("agents", "second-factor", "bob", prefix=prefix, redis_url=redis_url)
    assert enrolled.returncode == 0, enrolled.stderr
    totp = pyotp.TOTP(parse_qs(urlparse(enrolled.stdout.strip()).query)["secret"][0])
    assert login(signed, {"username": "bob", "password": "bob-password-1"}).status_code == 401
    assert login(signed, {"username": "bob", "password": "bob-password-1", "code": totp.now()}).status_code == 200
    signed.cookies.clear()
    assert supportbot("agents", "second-factor", "bob", "--off", prefix=prefix, redis_url=redis_url).returncode == 0
    assert login(signed, {"username": "bob", "password": "bob-password-1"}).status_code == 200
    missing = supportbot("agents", "second-factor", "nobody", prefix=prefix, redis_url=redis_url)
    assert missing.returncode == 2 and "no account" in missing.stderr
