"""Agent and admin accounts with scrypt-hashed passwords, and server-side sessions with CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import unicodedata
from enum import StrEnum
from typing import Annotated

import pyotp
from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema
from redis.asyncio import Redis

from bot.types import Participant, Role
from connectors.console.passwords import check_strength

SESSION_TTL_SECONDS = 12 * 3600
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class AccountRole(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"


DisplayName = Field("", max_length=64, description="the name customers see; the login stays internal")
AvatarUrl = Field("", max_length=500, pattern=r"^(https?://\S+)?$", description="an http(s) image URL, or empty")


class Profile(BaseModel):
    """What customers see of an agent: a display name and an optional avatar, apart from the login."""

    display_name: str = DisplayName
    avatar_url: str = AvatarUrl


class Account(Profile):
    username: str = Field(pattern=r"^[a-z0-9_.-]{2,32}$")
    role: AccountRole = AccountRole.AGENT
    password_hash: str = ""
    totp_secret: str = ""  # set: sign-in also needs the current code from the account's authenticator app

    @property
    def has_second_factor(self) -> bool:
        return bool(self.totp_secret)

    def participant(self) -> Participant:
        return Participant(role=Role.AGENT, id=self.username, name=self.display_name.strip(),
                           avatar_url=self.avatar_url)

    def public(self) -> dict[str, object]:
        """What admins and scripts may read: no password hash, no authenticator secret."""
        return {**self.model_dump(mode="json", exclude={"password_hash", "totp_secret"}),
                "second_factor": self.has_second_factor}


class SecondFactorRequired(Exception):
    """The password was right but the account needs an authenticator code, and none (or a wrong one) came."""


class Session(Profile):
    id: str
    username: str
    role: AccountRole
    csrf_token: str


def normalize_username(name: str) -> str:
    """The one spelling of a username, wherever a name comes in ("  Alice", "ALICE" and fullwidth "Ａｌｉｃｅ"
    are "alice"): two spellings of one account would slip past checks such as "not the last admin"."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return folded.strip()


def _one_spelling(name: object) -> object:
    if isinstance(name, str):
        if len(name) > 64:  # bounded before folding, as the schema says
            raise ValueError("a username has 2-32 letters, digits, '_', '.' or '-'")
        return normalize_username(name)
    return name


# A new login as a request sends it: any case, spaces around it; validated in its one spelling. The schema
# states the ASCII spellings; compatibility forms (fullwidth letters) fold to them too.
Username = Annotated[str, BeforeValidator(_one_spelling), Field(pattern=r"^[a-z0-9_.-]{2,32}$"),
                     WithJsonSchema({"type": "string", "maxLength": 64,
                                     "pattern": r"^[ \t\n\r]*[A-Za-z0-9_.-]{2,32}[ \t\n\r]*$"})]


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
                  display_name: str = "", avatar_url: str = "") -> Account:
        """A new account; without a display name customers read "a member of our support team".
        WeakPassword (a ValueError) says why a password is refused."""
        username = normalize_username(username)
        check_strength(password, user_inputs=(username, *display_name.split()))
        account = Account(username=username, role=role, display_name=display_name.strip(), avatar_url=avatar_url,
                          password_hash=hash_password(password))
        await self._save(account)
        await self.redis.sadd(f"{self.prefix}:accounts", username)
        return account

    async def _save(self, account: Account) -> None:
        await self.redis.set(self._account_key(account.username), account.model_dump_json())

    async def update_profile(self, username: str, profile: Profile) -> Account:
        """Change what customers see of an agent; the login, role and password stay. KeyError: no such account."""
        account = await self.get(username)
        if account is None:
            raise KeyError(username)
        account = account.model_copy(update={"display_name": profile.display_name.strip(),
                                              "avatar_url": profile.avatar_url})
        await self._save(account)
        return account

    async def get(self, username: str) -> Account | None:
        raw = await self.redis.get(self._account_key(normalize_username(username)))
        return Account.model_validate_json(raw) if raw else None

    async def all(self) -> list[Account]:
        names = sorted(await self.redis.smembers(f"{self.prefix}:accounts"))
        return [a for n in names if (a := await self.get(n if isinstance(n, str) else n.decode()))]

    async def admins(self) -> list[str]:
        return [a.username for a in await self.all() if a.role is AccountRole.ADMIN]

    async def remove(self, username: str) -> None:
        username = normalize_username(username)
        await self.redis.delete(self._account_key(username))
        await self.redis.srem(f"{self.prefix}:accounts", username)

    async def enable_second_factor(self, username: str, issuer: str = "supportbot") -> str:
        """A new TOTP secret for the account; returns the otpauth:// URI its authenticator app scans."""
        account = await self.get(username)
        if account is None:
            raise KeyError(username)
        secret = pyotp.random_base32()
        await self.redis.set(self._account_key(account.username),
                             account.model_copy(update={"totp_secret": secret}).model_dump_json())
        return pyotp.TOTP(secret).provisioning_uri(name=account.username, issuer_name=issuer)

    async def disable_second_factor(self, username: str) -> None:
        account = await self.get(username)
        if account is None:
            raise KeyError(username)
        await self.redis.set(self._account_key(account.username),
                             account.model_copy(update={"totp_secret": ""}).model_dump_json())

    async def _code_accepted(self, account: Account, code: str | None) -> bool:
        """The current code (or the one before or after, for clock drift), each usable once: a code seen on a
        shoulder or in a proxy log cannot sign in a second time."""
        if not code or not code.strip().isdigit():
            return False
        totp = pyotp.TOTP(account.totp_secret)
        now = time.time()
        for drift in (0, -1, 1):
            at = now + drift * totp.interval
            if hmac.compare_digest(totp.at(at), code.strip()):
                step = totp.timecode(at)
                used = f"{self.prefix}:totp_used:{account.username}:{step}"
                return bool(await self.redis.set(used, "1", nx=True, ex=3 * totp.interval))
        return False

    async def login(self, username: str, password: str, code: str | None = None) -> Session | None:
        """The new session, or None for a wrong name or password; SecondFactorRequired when the password is
        right and the account's authenticator code is missing or wrong."""
        account = await self.get(username)
        if account is None:
            hash_password(password)  # same work either way: no timing hint that the name exists
            return None
        if not check_password(password, account.password_hash):
            return None
        if account.has_second_factor and not await self._code_accepted(account, code):
            raise SecondFactorRequired(account.username)
        session = Session(id=secrets.token_urlsafe(32), username=account.username, role=account.role,
                          display_name=account.display_name, avatar_url=account.avatar_url,
                          csrf_token=secrets.token_urlsafe(24))
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
        return session.model_copy(update={"role": account.role, "display_name": account.display_name,
                                          "avatar_url": account.avatar_url})

    async def logout(self, session_id: str) -> None:
        await self.redis.delete(self._session_key(session_id))


def session_json(session: Session) -> str:
    return json.dumps({"username": session.username, "role": session.role.value,
                       "display_name": session.display_name, "avatar_url": session.avatar_url,
                       "csrf_token": session.csrf_token})
