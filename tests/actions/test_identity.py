"""The widget's identity: proven by the company's signed JWT or user hash, refused when forged or stale."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.actions.identity import IdentityError, WidgetIdentityVerifier, user_hash

SECRET = "company-backend-secret-0123456789abcdef-0123456789abcdef-0123"
AUDIENCE = "supportbot-widget"


def claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "demo-customer", "email": "dana@example.com", "aud": AUDIENCE, "exp": int(time.time()) + 300,
            **extra}


def hs256_signed_with(key: bytes) -> str:
    """The algorithm-confusion forgery: HS256 with the public key (which anyone has) as the secret."""
    def part(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")
    signing = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + b"." + part(json.dumps(claims()).encode())
    return (signing + b"." + part(hmac.new(key, signing, hashlib.sha256).digest())).decode()


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture
def verifier(rsa_keys: tuple[bytes, str]) -> WidgetIdentityVerifier:
    return WidgetIdentityVerifier(jwt_secret=SECRET, jwt_public_key=rsa_keys[1], audience=AUDIENCE,
                                  leeway=5, hmac_secret=SECRET)


def test_a_token_signed_by_the_company_is_verified(verifier: WidgetIdentityVerifier,
                                                   rsa_keys: tuple[bytes, str]) -> None:
    for token in (jwt.encode(claims(plan="team"), SECRET, algorithm="HS256"),
                  jwt.encode(claims(plan="team"), rsa_keys[0], algorithm="RS256")):
        who = verifier.verify(token=token)
        assert who.verified and who.user_id == "demo-customer" and who.email == "dana@example.com"
        assert who.source == "widget-jwt" and who.claims["plan"] == "team"


@pytest.mark.parametrize(("make", "reason"), [
    (lambda keys: jwt.encode(claims(), "someone-elses-secret-0123456789abcdef", algorithm="HS256"),
     "identity token rejected: Signature verification failed"),
    (lambda keys: jwt.encode(claims(exp=int(time.time()) - 60), SECRET, algorithm="HS256"),
     "identity token has expired"),
    (lambda keys: jwt.encode({k: v for k, v in claims().items() if k != "exp"}, SECRET, algorithm="HS256"),
     'identity token rejected: Token is missing the "exp" claim'),
    (lambda keys: jwt.encode({k: v for k, v in claims().items() if k != "sub"}, SECRET, algorithm="HS256"),
     'identity token rejected: Token is missing the "sub" claim'),
    (lambda keys: jwt.encode(claims(aud="another-app"), SECRET, algorithm="HS256"),
     "identity token rejected: Audience doesn't match"),
    (lambda keys: jwt.encode(claims(), "", algorithm="none"), "identity token algorithm 'none' is not accepted"),
    (lambda keys: jwt.encode(claims(), SECRET, algorithm="HS384"), "identity token algorithm 'HS384' is not accepted"),
    (lambda keys: hs256_signed_with(keys[1].encode()), "identity token rejected: Signature verification failed"),
    (lambda keys: "not-a-token", "identity token is malformed"),
])
def test_forged_expired_or_incomplete_tokens_are_refused(verifier: WidgetIdentityVerifier, rsa_keys: tuple[bytes, str],
                                                         make: Any, reason: str) -> None:
    with pytest.raises(IdentityError) as caught:
        verifier.verify(token=make(rsa_keys))
    assert str(caught.value).startswith(reason)


def test_a_token_just_past_expiry_is_within_the_small_leeway(verifier: WidgetIdentityVerifier) -> None:
    token = jwt.encode(claims(exp=int(time.time()) - 2), SECRET, algorithm="HS256")
    assert verifier.verify(token=token).verified


def test_an_rs256_token_signed_with_another_key_is_refused(verifier: WidgetIdentityVerifier) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(IdentityError, match="Signature verification failed"):
        verifier.verify(token=jwt.encode(claims(), other, algorithm="RS256"))


def test_the_user_hash_scheme(verifier: WidgetIdentityVerifier) -> None:
    who = verifier.verify(user_id="demo-customer", user_hash=user_hash(SECRET, "demo-customer"))
    assert who.verified and who.user_id == "demo-customer" and who.source == "widget-hmac" and who.email is None
    with pytest.raises(IdentityError, match="does not match"):
        verifier.verify(user_id="other-customer", user_hash=user_hash(SECRET, "demo-customer"))
    with pytest.raises(IdentityError, match="does not match"):
        verifier.verify(user_id="demo-customer", user_hash=user_hash("guessed-secret", "demo-customer"))
    with pytest.raises(IdentityError, match="both a user id and its hash"):
        verifier.verify(user_id="demo-customer")
    with pytest.raises(IdentityError, match="not configured"):
        WidgetIdentityVerifier(jwt_secret=SECRET).verify(user_id="demo-customer", user_hash="00")


def test_nothing_presented_is_an_anonymous_visitor(verifier: WidgetIdentityVerifier) -> None:
    who = verifier.verify()
    assert not who.verified and who.user_id is None and who.source == "none"
