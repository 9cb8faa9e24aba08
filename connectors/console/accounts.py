"""Agent and admin accounts with scrypt-hashed passwords, and server-side sessions with CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from enum import StrEnum

from pydantic import BaseModel, Field
from redis.asyncio import Redis

SESSION_TTL_SECONDS = 12 * 3600
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class AccountRole(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"


class Account(BaseModel):
    username: str = Field(pattern=r"^[a-z0-9_.-]{2,32}$")
    display_name: str = ""
    role: AccountRole = AccountRole.AGENT
    password_hash: str = ""


class Session(BaseModel):
    id: str
    username: str
    role: AccountRole
    display_name: str
    csrf_token: str


def normalize_username(name: str) -> str:
    """The one spelling of a username, at creation and at every sign-in ("  Alice" is "alice")."""
    return name.strip().lower()


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)  # type: ignore[arg-type]
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    expected = hash_password(password, bytes.fromhex(salt)).split("$")[2]
    return hmac.compare_digest(expected, digest)


class Accounts:
    """Accounts live in Redis beside the conversations they work on."""

    def __init__(self, redis: Redis, prefix: str = "sb") -> None:
        self.redis = redis
        self.prefix = prefix

    def _account_key(self, username: str) -> str:
        return f"{self.prefix}:account:{username}"

    def _session_key(self, session_id: str) -> str:
        return f"{self.prefix}:session:{session_id}"

    async def add(self, username: str, password: str, role: AccountRole = AccountRole.AGENT,
                  display_name: str = "") -> Account:
        if len(password) < 8:
            raise ValueError("password must have at least 8 characters")
        username = normalize_username(username)
        account = Account(username=username, role=role, display_name=display_name or username,
                          password_hash=hash_password(password))
        await self.redis.set(self._account_key(username), account.model_dump_json())
        await self.redis.sadd(f"{self.prefix}:accounts", username)
        return account

    async def get(self, username: str) -> Account | None:
        raw = await self.redis.get(self._account_key(normalize_username(username)))
        return Account.model_validate_json(raw) if raw else None

    async def all(self) -> list[Account]:
        names = sorted(await self.redis.smembers(f"{self.prefix}:accounts"))
        return [a for n in names if (a := await self.get(n if isinstance(n, str) else n.decode()))]

    async def remove(self, username: str) -> None:
        username = normalize_username(username)
        await self.redis.delete(self._account_key(username))
        await self.redis.srem(f"{self.prefix}:accounts", username)

    async def login(self, username: str, password: str) -> Session | None:
        account = await self.get(username)
        if account is None:
            hash_password(password)  # same work either way: no timing hint that the name exists
            return None
        if not check_password(password, account.password_hash):
            return None
        session = Session(id=secrets.token_urlsafe(32), username=account.username, role=account.role,
                          display_name=account.display_name, csrf_token=secrets.token_urlsafe(24))
        await self.redis.set(self._session_key(session.id), session.model_dump_json(), ex=SESSION_TTL_SECONDS)
        return session

    async def session(self, session_id: str) -> Session | None:
        """The session, as long as its account still exists (removal ends every session at once); role and
        name are the account's current ones."""
        if not session_id or len(session_id) > 100:
            return None
        raw = await self.redis.get(self._session_key(session_id))
        if not raw:
            return None
        session = Session.model_validate_json(raw)
        account = await self.get(session.username)
        if account is None:
            await self.redis.delete(self._session_key(session_id))
            return None
        return session.model_copy(update={"role": account.role, "display_name": account.display_name})

    async def logout(self, session_id: str) -> None:
        await self.redis.delete(self._session_key(session_id))


def session_json(session: Session) -> str:
    return json.dumps({"username": session.username, "role": session.role.value,
                       "display_name": session.display_name, "csrf_token": session.csrf_token})
