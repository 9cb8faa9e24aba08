"""Accounts: hashed passwords, sessions that expire, wrong passwords refused."""

from __future__ import annotations

from connectors.console.accounts import AccountRole, Accounts, check_password, hash_password
from service.container import Container


def test_password_hash_is_salted_and_checked() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and "correct horse" not in first
    assert check_password("correct horse", first) and not check_password("wrong horse", first)
    assert not check_password("x", "plaintext")


async def test_login_session_logout(container: Container) -> None:
    accounts = Accounts(container.redis, container.settings.redis_prefix)
    await accounts.add("alice", "tidal-mosaic-beacon-8", AccountRole.ADMIN, "Alice")
    assert await accounts.login("alice", "wrong-pass") is None
    assert await accounts.login("nobody", "tidal-mosaic-beacon-8") is None
    session = await accounts.login("alice", "tidal-mosaic-beacon-8")
    assert session is not None and session.role is AccountRole.ADMIN and session.csrf_token
    assert (await accounts.session(session.id)) == session
    ttl = await container.redis.ttl(f"{container.settings.redis_prefix}:session:{session.id}")
    assert 0 < ttl <= 12 * 3600
    await accounts.logout(session.id)
    assert await accounts.session(session.id) is None
    stored = await container.redis.get(f"{container.settings.redis_prefix}:account:alice")
    assert "tidal-mosaic-beacon-8" not in stored
