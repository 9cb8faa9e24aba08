"""A local stand-in for the providers' OAuth2 endpoints, over HTTPS with a certificate of its own.

It plays Microsoft's identity platform (`/{tenant}/v2.0/.well-known/openid-configuration`,
`/{tenant}/oauth2/v2.0/token`) and Google's token endpoint (`/token`) in their documented JSON formats,
issuing short-lived access tokens for a refresh token, client credentials or a service account's signed
assertion, and the introspection endpoint (RFC 7662, `POST /introspect`) that Dovecot's oauth2 passdb and
the SMTP test server ask whether a token is good and whose it is. msal and google-auth talk to it unchanged.
"""

from __future__ import annotations

import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt

from tests.net import QuietHandler

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"  # what google-auth signs for, wherever it posts


@dataclass
class Issued:
    username: str
    expires_at: float
    scope: str


@dataclass
class OAuthProvider:
    cert: Path
    key: Path
    lifetime: float = 3600.0  # seconds an access token is good for
    rotate_refresh_tokens: bool = True  # Microsoft returns a new refresh token with every refresh
    clients: dict[str, str] = field(default_factory=dict)  # client id -> secret
    refresh_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # -> client id, user
    apps: dict[str, str] = field(default_factory=dict)  # client id -> the mailbox the app may open
    service_accounts: dict[str, str] = field(default_factory=dict)  # client email -> public key (PEM)
    access_tokens: dict[str, Issued] = field(default_factory=dict)
    grants: list[dict[str, str]] = field(default_factory=list)  # every token request, as posted
    introspections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    # -- what a test sets up or changes ------------------------------------------------------------------------

    def register(self, client_id: str, secret: str) -> None:
        self.clients[client_id] = secret

    def refresh_token_for(self, client_id: str, username: str) -> str:
        token = "rt-" + secrets.token_urlsafe(16)
        self.refresh_tokens[token] = (client_id, username)
        return token

    def revoke_refresh_tokens(self) -> None:
        """What an admin's "revoke sessions" or a password change does: every refresh token stops working."""
        with self.lock:
            self.refresh_tokens.clear()

    def expire_access_tokens(self) -> None:
        """Tokens already handed out stop working before the expiry they were issued with."""
        with self.lock:
            for issued in self.access_tokens.values():
                issued.expires_at = 0

    def token_grants(self) -> list[dict[str, str]]:
        with self.lock:
            return list(self.grants)

    def holder(self, token: str) -> str | None:
        """Whose the access token is, while it is good (what introspection answers)."""
        with self.lock:
            self.introspections += 1
            issued = self.access_tokens.get(token)
            return issued.username if issued and issued.expires_at > time.time() else None

    # -- the endpoints ------------------------------------------------------------------------------------------

    def _grant(self, form: dict[str, str], microsoft: bool) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.grants.append(form)
            kind = form.get("grant_type")
            client = form.get("client_id", "")
            secret = form.get("client_secret")
            if secret is not None and self.clients.get(client) != secret:
                return 401, self._error("invalid_client", "AADSTS7000215: Invalid client secret provided.",
                                        microsoft)
            new_refresh = None
            if kind == "refresh_token":
                owner = self.refresh_tokens.get(form.get("refresh_token", ""))
                if owner is None or owner[0] != client:
                    return 400, self._error("invalid_grant", "AADSTS70008: The provided authorization code or "
                                            "refresh token has expired due to inactivity." if microsoft else
                                            "Token has been expired or revoked.", microsoft)
                username = owner[1]
                if microsoft and self.rotate_refresh_tokens:  # the old one stays good until it expires
                    new_refresh = "rt-" + secrets.token_urlsafe(16)
                    self.refresh_tokens[new_refresh] = owner
            elif kind == "client_credentials":
                if secret is None or client not in self.apps:
                    return 400, self._error("unauthorized_client", "AADSTS700016: Application not found in "
                                            "the directory.", microsoft)
                username = self.apps[client]
            elif kind == JWT_BEARER:
                subject = self._assertion_subject(form.get("assertion", ""))
                if subject is None:
                    return 400, self._error("invalid_grant", "Invalid JWT Signature.", microsoft)
                username = subject
            else:
                return 400, self._error("unsupported_grant_type", str(kind), microsoft)
            token = "at-" + secrets.token_urlsafe(24)
            scope = form.get("scope", "")
            self.access_tokens[token] = Issued(username, time.time() + self.lifetime, scope)
            body: dict[str, Any] = {"access_token": token, "token_type": "Bearer",
                                    "expires_in": int(self.lifetime), "scope": scope}
            if microsoft:
                body["ext_expires_in"] = int(self.lifetime)
            if new_refresh:
                body["refresh_token"] = new_refresh
            return 200, body

    def _assertion_subject(self, assertion: str) -> str | None:
        """A service account's signed JWT (RFC 7523): verified with its public key; `sub` is the user."""
        try:
            issuer = jwt.decode(assertion, options={"verify_signature": False})["iss"]
            claims = jwt.decode(assertion, self.service_accounts[issuer], algorithms=["RS256"],
                                audience=GOOGLE_AUDIENCE)
        except (jwt.PyJWTError, KeyError):
            return None
        return str(claims.get("sub") or issuer)

    @staticmethod
    def _error(code: str, description: str, microsoft: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"error": code, "error_description": description}
        if microsoft:
            body.update({"error_codes": [int(description[6:description.index(":")])] if description.startswith(
                "AADSTS") else [], "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
                "trace_id": secrets.token_hex(8), "correlation_id": secrets.token_hex(8)})
        return body

    def _discovery(self, tenant: str) -> dict[str, Any]:
        base = f"{self.url}/{tenant}"
        return {"token_endpoint": f"{base}/oauth2/v2.0/token", "authorization_endpoint":
                f"{base}/oauth2/v2.0/authorize", "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "issuer": f"{base}/v2.0", "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"]}

    def start(self) -> "OAuthProvider":
        provider = self

        class Handler(QuietHandler):
            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                if self.path.endswith("/.well-known/openid-configuration"):
                    self._reply(200, provider._discovery(self.path.strip("/").split("/")[0]))
                else:
                    self._reply(404, {"error": "not_found"})

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                if self.path == "/introspect":
                    username = provider.holder(form.get("token", ""))
                    self._reply(200, {"active": True, "username": username} if username else {"active": False})
                elif self.path == "/token" or self.path.endswith("/oauth2/v2.0/token"):
                    self._reply(*provider._grant(form, microsoft=self.path != "/token"))
                else:
                    self._reply(404, {"error": "not_found"})

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.server = server
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
