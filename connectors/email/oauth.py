"""OAuth2 access tokens for mailboxes that no longer take a password (Microsoft 365, Google Workspace).

One small interface, `TokenProvider`: a token for one account, kept until shortly before it expires. The
providers' own libraries do the sign-in (`msal` for Microsoft, `google-auth` for Google); both are optional
extras (`pip install supportbot[microsoft]` / `[google]`) and are imported only when a mailbox uses them.
IMAP and SMTP present the token with the XOAUTH2 SASL mechanism both providers document.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, model_validator

Provider = Literal["oauth2-microsoft", "oauth2-google"]

MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
MICROSOFT_APP_SCOPES = ["https://outlook.office365.com/.default"]  # client credentials: IMAP and SMTP as the app
MICROSOFT_USER_SCOPES = ["https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send"]
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_SCOPES = ["https://mail.google.com/"]  # the only scope Gmail's IMAP and SMTP accept
REFUSALS = ("invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope")


class OAuth2(BaseModel):
    """How one account signs in. Microsoft: `client_id` and `client_secret` of the app registration in
    `tenant`; with `refresh_token` as the mailbox user (delegated), without it as the app itself (client
    credentials). Google: `client_id`, `client_secret` and the user's `refresh_token`, or a service
    account's key file with domain-wide delegation (it acts as the mailbox user)."""

    provider: Provider
    client_id: str = ""
    client_secret: str = Field("", repr=False)
    tenant: str = Field("organizations", description="Microsoft: the directory (tenant) id or domain")
    refresh_token: str = Field("", repr=False)
    service_account_file: str | None = Field(None, description="Google: a service account's JSON key")
    endpoint: str | None = Field(None, description="Microsoft: the authority host (national clouds); Google: "
                                                   "the token URI; unset: the provider's public one")
    scopes: list[str] = Field(default_factory=list, description="unset: what IMAP and SMTP need")

    @model_validator(mode="after")
    def _complete(self) -> "OAuth2":
        if self.provider == "oauth2-microsoft":
            if not self.client_id or not (self.client_secret or self.refresh_token):
                raise ValueError("oauth2-microsoft needs a client id, and a client secret or a refresh token")
            if not self.refresh_token and self.tenant in ("organizations", "common", "consumers"):
                raise ValueError("oauth2-microsoft with client credentials needs the directory (tenant) id")
        elif not self.service_account_file and not (self.client_id and self.client_secret and self.refresh_token):
            raise ValueError("oauth2-google needs a client id, client secret and refresh token, or a service "
                             "account file")
        return self


class TokenError(Exception):
    """No access token could be had. `refused`: the provider said no (revoked or expired refresh token,
    wrong secret, consent withdrawn) and a person must sign in again; otherwise it may pass (endpoint away)."""

    def __init__(self, account: str, reason: str, *, refused: bool) -> None:
        advice = " (sign in again and set a new refresh token, or check the app's secret and consent)"
        super().__init__(f"OAuth2 sign-in of {account} failed: {reason}{advice if refused else ''}")
        self.account = account
        self.reason = reason
        self.refused = refused


class TokenProvider(Protocol):
    def token(self, *, refresh: bool = False) -> str:
        """A valid access token; `refresh` after the server refused the current one (it was revoked or
        expired early), so a new one is fetched instead of the cached."""
        ...


Grant = tuple[str, float]  # access token, when it expires (time.time())


class CachedToken:
    """Keeps a token until `margin` before it expires (a tenth of its life for short-lived ones), so a
    connection opened with it is not refused halfway through signing in. Thread-safe: IMAP and SMTP run
    in worker threads."""

    def __init__(self, fetch: Callable[[], Grant], *, margin: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.fetch = fetch
        self.margin = margin
        self.clock = clock
        self.fetches = 0
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def token(self, *, refresh: bool = False) -> str:
        with self._lock:
            now = self.clock()
            if refresh or self._token is None or now >= self._refresh_at:
                token, expires_at = self.fetch()
                self.fetches += 1
                self._token = token
                self._refresh_at = expires_at - min(self.margin, max(0.0, expires_at - now) / 10)
            return self._token


class MicrosoftTokens:
    """msal: client credentials (`acquire_token_for_client`), or a refresh token, which Microsoft rotates:
    the newest one is kept for the next refresh."""

    def __init__(self, config: OAuth2, account: str) -> None:
        self.config = config
        self.account = account
        self.refresh_token = config.refresh_token
        self._app: Any = None

    def _application(self) -> Any:
        if self._app is None:
            import msal

            authority = f"{(self.config.endpoint or MICROSOFT_AUTHORITY).rstrip('/')}/{self.config.tenant}"
            custom = self.config.endpoint is not None  # not Microsoft's host: no discovery through it
            if self.config.client_secret:
                self._app = msal.ConfidentialClientApplication(
                    self.config.client_id, client_credential=self.config.client_secret, authority=authority,
                    validate_authority=not custom, instance_discovery=not custom)
            else:
                self._app = msal.PublicClientApplication(self.config.client_id, authority=authority,
                                                         validate_authority=not custom,
                                                         instance_discovery=not custom)
        return self._app

    def fetch(self) -> Grant:
        try:
            app = self._application()
            if self.refresh_token:
                result = app.acquire_token_by_refresh_token(self.refresh_token,
                                                            scopes=self.config.scopes or MICROSOFT_USER_SCOPES)
            else:
                import msal

                for cached in list(app.token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                    app.token_cache.remove_at(cached)  # we cache; a fetch is meant to reach the endpoint
                result = app.acquire_token_for_client(scopes=self.config.scopes or MICROSOFT_APP_SCOPES)
        except Exception as error:  # discovery or the token endpoint unreachable, or not JSON
            self._app = None
            raise TokenError(self.account, f"{type(error).__name__}: {error}", refused=False) from error
        if "access_token" not in result:
            code = str(result.get("error") or "no access token")
            raise TokenError(self.account, f"{code}: {result.get('error_description') or ''}".strip(),
                             refused=code in REFUSALS)
        self.refresh_token = result.get("refresh_token") or self.refresh_token
        return str(result["access_token"]), time.time() + float(result.get("expires_in") or 3600)


class GoogleTokens:
    """google-auth: the user's refresh token (`google.oauth2.credentials`), or a service account acting as
    the mailbox user (`google.oauth2.service_account`, `subject`)."""

    def __init__(self, config: OAuth2, account: str) -> None:
        self.config = config
        self.account = account
        self._credentials: Any = None

    def _build(self) -> Any:
        scopes = self.config.scopes or GOOGLE_SCOPES
        if self.config.service_account_file:
            from google.oauth2 import service_account

            with open(self.config.service_account_file, encoding="utf-8") as file:
                info = json.load(file)
            if self.config.endpoint:
                info["token_uri"] = self.config.endpoint
            return service_account.Credentials.from_service_account_info(info, scopes=scopes, subject=self.account)
        from google.oauth2.credentials import Credentials

        return Credentials(None, refresh_token=self.config.refresh_token, client_id=self.config.client_id,
                           client_secret=self.config.client_secret, scopes=scopes,
                           token_uri=self.config.endpoint or GOOGLE_TOKEN_URI)

    def fetch(self) -> Grant:
        from google.auth.exceptions import RefreshError, TransportError
        from google.auth.transport.requests import Request

        try:
            if self._credentials is None:
                self._credentials = self._build()
            self._credentials.refresh(Request())
        except RefreshError as error:
            reason = str(error.args[0]) if error.args else str(error)
            raise TokenError(self.account, reason, refused=reason.startswith(REFUSALS)) from error
        except (TransportError, OSError, ValueError) as error:
            raise TokenError(self.account, f"{type(error).__name__}: {error}", refused=False) from error
        expiry = self._credentials.expiry  # naive UTC
        expires_at = (expiry.replace(tzinfo=datetime.UTC).timestamp() if expiry is not None
                      else time.time() + 3600)
        return str(self._credentials.token), expires_at


def token_provider(config: OAuth2, account: str) -> CachedToken:
    """The account's tokens from its provider, cached."""
    source = MicrosoftTokens(config, account) if config.provider == "oauth2-microsoft" else GoogleTokens(config,
                                                                                                       account)
    return CachedToken(source.fetch)


def xoauth2(user: str, token: str) -> str:
    """The XOAUTH2 initial client response, before base64 (Google's and Microsoft's documented format)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


class XOAuth2:
    """The SASL exchange as imaplib and smtplib drive it: the credentials first; to the server's error
    challenge (a JSON status) an empty response, after which the server answers with its refusal."""

    def __init__(self, user: str, token: str) -> None:
        self.response = xoauth2(user, token)
        self.error: str | None = None
        self.calls = 0

    def __call__(self, challenge: bytes | None = None) -> str:
        self.calls += 1
        if self.calls == 1:
            return self.response
        self.error = (challenge or b"").decode("utf-8", "replace")
        return ""
