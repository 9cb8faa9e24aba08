"""Who is calling the agent API: a console login (session cookie + CSRF header) or the deployment's bearer token.

The console uses accounts; the bearer token stays for scripts and integrations, which send no cookies and so
need no CSRF protection. The bearer token acts as an admin with the name given in `X-Agent`.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, WebSocket
from pydantic import BaseModel, Field

from bot.types import Participant, Role, Text
from connectors.console.accounts import (
    SESSION_TTL_SECONDS,
    AccountRole,
    Accounts,
    SecondFactorRequired,
    Session,
    normalize_username,
)
from connectors.ratelimit import RateLimits
from connectors.redis_glob import literal
from connectors.redis_slots import clustered, tag

COOKIE = "sb_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FAILED_LOGINS = 10  # per account and client address
MAX_FAILED_LOGINS_PER_ADDRESS = 50  # whatever the account: one address spraying names
LOCKOUT_SECONDS = 15 * 60


class LoginAttempts:
    """Failed sign-ins counted per (account, client address) and per address.

    An attempt is counted before the password is checked (INCR, atomic), so concurrent guesses cannot all
    pass one check; a success takes it back. Keying the lock on the address as well means nobody can lock
    an admin out from elsewhere by guessing their password: only the guessing address is locked.
    """

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    def _keys(self, username: str, address: str) -> tuple[str, str]:
        """Both counts carry the address as hash tag on a Redis Cluster: they change in one transaction."""
        address = tag(address, clustered(self.redis))
        return (f"{self.prefix}:login_failures:{username}:{address}",
                f"{self.prefix}:login_failures_from:{address}")

    async def reserve(self, username: str, address: str) -> bool:
        pair, by_address = self._keys(username, address)
        async with self.redis.pipeline(transaction=True) as pipe:  # a count's window starts with its first try
            pipe.set(pair, 0, ex=LOCKOUT_SECONDS, nx=True).incr(pair)  # not EXPIRE NX: that needs Redis 7
            pipe.set(by_address, 0, ex=LOCKOUT_SECONDS, nx=True).incr(by_address)
            _, tries, _, from_address = await pipe.execute()
        return tries <= MAX_FAILED_LOGINS and from_address <= MAX_FAILED_LOGINS_PER_ADDRESS

    async def unlock(self, username: str) -> int:
        """Clears the account's failure counts from every address (an admin's answer to a lockout)."""
        pattern = literal(f"{self.prefix}:login_failures:{username}:") + "*"  # a name is never a pattern
        keys = [key async for key in self.redis.scan_iter(match=pattern)]
        return int(await self.redis.delete(*keys)) if keys else 0

    async def succeeded(self, username: str, address: str) -> None:
        pair, by_address = self._keys(username, address)
        async with self.redis.pipeline(transaction=True) as pipe:
            await pipe.delete(pair).decr(by_address).execute()


class Credentials(BaseModel):
    username: Text = Field(min_length=1, max_length=64)
    password: Text = Field(min_length=1, max_length=256)
    code: str | None = Field(default=None, max_length=12, description="authenticator code, for accounts with a "
                                                                       "second factor")


class Me(BaseModel):
    username: str
    display_name: str
    avatar_url: str = ""
    role: AccountRole
    csrf_token: str = Field(description="send as X-CSRF-Token with every change")


class SignedIn(BaseModel):
    signed_in: bool
    account: Me | None = None


@dataclass(frozen=True)
class Identity:
    """The caller as an agent participant, with the role that decides what they may change."""

    participant: Participant
    role: AccountRole
    session: Session | None = None

    @property
    def username(self) -> str:
        return self.participant.id


def identity_of(session: Session) -> Identity:
    return Identity(Participant(role=Role.AGENT, id=session.username, name=session.display_name.strip(),
                                avatar_url=session.avatar_url), session.role, session)


class ConsoleAuth:
    def __init__(self, accounts: Accounts, agent_token: str, limits: RateLimits, *,
                 secure_cookie: bool = False) -> None:
        self.accounts = accounts
        self.limits = limits
        self.attempts = LoginAttempts(accounts.redis, accounts.prefix)
        self.agent_token = agent_token
        self.secure_cookie = secure_cookie

    async def _bearer(self, authorization: str | None, name: str | None) -> Identity:
        """The token's caller is the agent `X-Agent` names, shown to customers by their account's display
        name; without `X-Agent` it is the support team, unnamed (customers never read "agent")."""
        expected = f"Bearer {self.agent_token}"
        if not authorization or not hmac.compare_digest(authorization.encode(), expected.encode()):
            raise HTTPException(401, "agent token required")
        who = (name or "").strip()[:64]
        if not who:
            return Identity(Participant(role=Role.AGENT, id="agent", name=""), AccountRole.ADMIN)
        account = await self.accounts.get(who)  # "ALICE" is alice: one account, one claimant
        if account is not None:
            return Identity(account.participant(), AccountRole.ADMIN)
        return Identity(Participant(role=Role.AGENT, id=who), AccountRole.ADMIN)  # a login is not a name

    async def identify(self, request: Request) -> Identity:
        """FastAPI dependency: the caller, or 401; a cookie-authenticated change without CSRF token is 403."""
        authorization = request.headers.get("authorization")
        if authorization is not None:
            return await self._bearer(authorization, request.headers.get("x-agent"))
        session = await self.accounts.session(request.cookies.get(COOKIE, ""))
        if session is None:
            raise HTTPException(401, "sign in required")
        if request.method not in SAFE_METHODS:
            sent = request.headers.get("x-csrf-token", "")
            if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
                raise HTTPException(403, "CSRF token missing or wrong")
        return identity_of(session)

    async def admin(self, request: Request) -> Identity:
        who = await self.identify(request)
        if who.role is not AccountRole.ADMIN:
            raise HTTPException(403, "admins only")
        return who

    async def websocket_identity(self, websocket: WebSocket, token: str) -> Identity | None:
        """Token in the query (scripts) or the session cookie (console, same origin only)."""
        if token:
            return await self._bearer(f"Bearer {token}", None) if hmac.compare_digest(
                token.encode(), self.agent_token.encode()) else None
        origin, host = websocket.headers.get("origin"), websocket.headers.get("host", "")
        if origin is not None and origin.split("://", 1)[-1] != host:
            return None  # a cookie sent by another site's page must not open the agents' feed
        session = await self.accounts.session(websocket.cookies.get(COOKIE, ""))
        return identity_of(session) if session else None

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/api/agent")
        accounts = self.accounts

        @router.post("/login")
        async def login(body: Credentials, request: Request, response: Response) -> Me:
            username = normalize_username(body.username)
            address = self.limits.address(request)
            await self.limits.check("login", address)
            if not await self.attempts.reserve(username, address):
                raise HTTPException(429, "too many failed sign-ins; try again in 15 minutes",
                                    headers={"Retry-After": str(LOCKOUT_SECONDS)})
            try:
                session = await accounts.login(username, body.password, body.code)
            except SecondFactorRequired:
                raise HTTPException(401, "authenticator code required",
                                    headers={"X-Second-Factor": "totp"}) from None
            if session is None:
                raise HTTPException(401, "wrong username or password")
            await self.attempts.succeeded(username, address)
            response.set_cookie(COOKIE, session.id, max_age=SESSION_TTL_SECONDS, httponly=True, samesite="strict",
                                secure=self.secure_cookie, path="/")
            return _me(session)

        @router.get("/me")
        async def me(request: Request) -> Me:
            session = await accounts.session(request.cookies.get(COOKIE, ""))
            if session is None:
                raise HTTPException(401, "sign in required")
            return _me(session)

        @router.get("/session")
        async def signed_in(request: Request) -> SignedIn:
            """Whether the browser is signed in, as a 200 either way: the console asks before it shows
            anything, and a first visit should not log a failed request."""
            session = await accounts.session(request.cookies.get(COOKIE, ""))
            return SignedIn(signed_in=session is not None, account=_me(session) if session else None)

        @router.post("/logout")
        async def logout(request: Request, response: Response) -> dict[str, bool]:
            who = await self.identify(request)
            if who.session is not None:
                await accounts.logout(who.session.id)
            response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=self.secure_cookie)
            return {"signed_out": True}

        return router


def _me(session: Session) -> Me:
    return Me(username=session.username, display_name=session.display_name, avatar_url=session.avatar_url,
              role=session.role, csrf_token=session.csrf_token)
