"""The widget's visitor, as the company's own backend vouches for them.

Two schemes the company's site can use: a JWT it signs (HS256 with a shared secret or RS256 with its key
pair; `exp` and `sub` required, audience checked when configured), or the HMAC-SHA256 of the user id with a
shared secret (the scheme of Intercom's and Chatwoot's identity verification). Anything presented and not
proven raises `IdentityError`; nothing presented is an anonymous, unverified visitor.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import jwt

from bot.actions import Identity


class IdentityError(ValueError):
    """An identity was presented and could not be proven; the message says why, never the token."""


class WidgetIdentityVerifier:
    def __init__(self, *, jwt_secret: str | None = None, jwt_public_key: str | None = None,
                 audience: str | None = None, issuer: str | None = None, leeway: float = 10.0,
                 hmac_secret: str | None = None) -> None:
        self.keys: dict[str, Any] = {}
        if jwt_secret:
            self.keys["HS256"] = jwt_secret
        if jwt_public_key:
            self.keys["RS256"] = jwt_public_key
        self.audience = audience
        self.issuer = issuer
        self.leeway = leeway
        self.hmac_secret = hmac_secret

    def verify(self, *, token: str | None = None, user_id: str | None = None,
               user_hash: str | None = None) -> Identity:
        """A JWT if given, else a user id with its HMAC; neither means an anonymous visitor."""
        if token:
            return self.verify_jwt(token)
        if user_id or user_hash:
            return self.verify_hmac(user_id or "", user_hash or "")
        return Identity.anonymous()

    def verify_jwt(self, token: str) -> Identity:
        """The key is chosen by the configured algorithm named in the token's header, so a token cannot pick
        `none` or use a public key as an HMAC secret."""
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError as error:
            raise IdentityError(f"identity token is malformed: {error}") from error
        key = self.keys.get(str(algorithm))
        if key is None:
            raise IdentityError(f"identity token algorithm {algorithm!r} is not accepted")
        try:
            claims = jwt.decode(token, key, algorithms=[str(algorithm)], audience=self.audience, issuer=self.issuer,
                                leeway=self.leeway, options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError as error:
            raise IdentityError("identity token has expired") from error
        except jwt.PyJWTError as error:
            raise IdentityError(f"identity token rejected: {error}") from error
        email = claims.get("email")
        return Identity(verified=True, user_id=str(claims["sub"]), email=email if isinstance(email, str) else None,
                        claims=claims, source="widget-jwt")

    def verify_hmac(self, user_id: str, user_hash: str) -> Identity:
        """Only the user id is signed, so only the user id is taken: an email beside it would be the
        visitor's own say-so."""
        if not self.hmac_secret:
            raise IdentityError("identity verification by HMAC is not configured")
        if not user_id or not user_hash:
            raise IdentityError("identity needs both a user id and its hash")
        expected = hmac.new(self.hmac_secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, user_hash.strip().lower()):
            raise IdentityError("identity hash does not match the user id")
        return Identity(verified=True, user_id=user_id, source="widget-hmac")


def user_hash(secret: str, user_id: str) -> str:
    """What the company's backend computes for its page: hex HMAC-SHA256 of the user id."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()
