"""Server-side origin check for the widget API: CORS headers only stop browsers from reading responses,
this stops requests from pages on origins the deployment did not allow (REST: 403, WebSocket: refused)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

WIDGET_PATHS = ("/api/conversations",)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


class OriginGuard:
    """Allowed: no Origin header (server-to-server), the server's own origin, or one of `allowed`."""

    def __init__(self, app: ASGIApp, allowed: list[str], public_url: str = "") -> None:
        self.app = app
        self.allowed = {origin_of(o) or o.lower().rstrip("/") for o in allowed}
        if public_url:
            self.allowed.add(origin_of(public_url))

    def permits(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1").lower().rstrip("/")
        if not origin:
            return True
        scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        own = f"{scheme}://{headers.get(b'host', b'').decode('latin-1').lower()}"
        return origin == own or origin in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"].startswith(WIDGET_PATHS) \
                and not (scope["type"] == "http" and scope.get("method") == "OPTIONS") and not self.permits(scope):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4403, "reason": "origin not allowed"})
                return
            await JSONResponse({"detail": "origin not allowed"}, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)
