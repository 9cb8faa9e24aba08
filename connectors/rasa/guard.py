"""Who may call the action server: a call to /webhook runs a turn, or opens a handoff, as whatever `sender_id` it
names, so only the Rasa server may make it.

rasa-sdk has no authentication of its own; it does offer a plugin hook that sees its Sanic app before it serves.
Through it (registered when the actions module is loaded, in every process rasa-sdk starts):

* the server listens on 127.0.0.1 unless SANIC_HOST says otherwise (rasa-sdk's own default is 0.0.0.0);
* with SUPPORTBOT_RASA_ACTION_TOKEN set, every route but /health answers 401 unless the call carries the token,
  as Rasa sends it: `token` in endpoints.yml's action_endpoint (a `?token=` query parameter), or
  `headers: {Authorization: "Bearer ..."}`;
* without a token it refuses to start on any address other than loopback.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from typing import Any

import pluggy
from rasa_sdk.plugin import plugin_manager
from sanic import Request, Sanic, response
from sanic.response import HTTPResponse

HOST_VARIABLE = "SANIC_HOST"  # rasa-sdk reads the address to listen on from it
LOOPBACK = "127.0.0.1"
TOKEN_VARIABLE = "SUPPORTBOT_RASA_ACTION_TOKEN"
OPEN_PATHS = frozenset({"/health"})  # for liveness probes; it runs nothing

hookimpl = pluggy.HookimplMarker("rasa_sdk")


class UnprotectedActionServer(RuntimeError):
    """Asked to listen beyond this host with no token to check: anyone reaching the port could act as any user."""

    def __init__(self, host: str) -> None:
        super().__init__(f"the action server would listen on {host} and answer anyone: set {TOKEN_VARIABLE} "
                         f"(and `token` in Rasa's endpoints.yml action_endpoint), or {HOST_VARIABLE}={LOOPBACK}")
        self.host = host


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name other than localhost may resolve to anything
        return False


def presented_token(request: Request) -> str:
    """The token a call carries: Rasa's `?token=` query parameter, else an `Authorization: Bearer` header."""
    query = request.args.get("token")
    if query:
        return str(query)
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def protect(app: Sanic, token: str | None, host: str) -> None:
    """Check the token on every call but /health; without one, allow loopback only."""
    if not token:
        if not is_loopback(host):
            raise UnprotectedActionServer(host)
        return

    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS or secrets.compare_digest(presented_token(request), token):
            return None
        return response.json({"error": "the action server needs its token"}, status=401)

    app.register_middleware(require_token, "request")


def configured_token() -> str | None:
    from service.settings import load_settings

    return load_settings().rasa_action_token or None


class ActionServerGuard:
    """The rasa-sdk plugin: called with each Sanic app rasa-sdk builds to serve (in its main process and in each
    worker), before it reads SANIC_HOST to listen."""

    @hookimpl
    def attach_sanic_app_extensions(self, app: Any) -> None:
        host = os.environ.setdefault(HOST_VARIABLE, LOOPBACK)
        protect(app, configured_token(), host)


_GUARD = ActionServerGuard()


def install() -> None:
    """Idempotent: register the guard with rasa-sdk's plugin manager."""
    manager = plugin_manager()
    if not manager.is_registered(_GUARD):
        manager.register(_GUARD)
