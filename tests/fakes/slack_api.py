"""A local stand-in of the Slack Web API: a real HTTP server on an ephemeral port that records every call.

It answers the way Slack documents (`{"ok": true, ...}`), and can answer the next N calls of a method with
HTTP 429 + `Retry-After`, so clients are tested against the same wire format as production.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.net import QuietHandler, serve_in_background

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T1"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str = ""
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)


class FakeSlackAPI:
    """Start, point `AsyncWebClient(base_url=fake.url)` at it, then inspect `calls`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.members: dict[str, list[str]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self._failures: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    # -- control ---------------------------------------------------------------------------------------------

    def start(self) -> "FakeSlackAPI":
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                fake._serve(self)

            def do_GET(self) -> None:  # noqa: N802
                fake._serve(self)

        self._server = serve_in_background(Handler)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 and `Retry-After: retry_after`."""
        with self._lock:
            self._failures[method] = (times, retry_after)

    # -- inspection ------------------------------------------------------------------------------------------

    def of(self, method: str, **match: Any) -> list[Call]:
        """Successful calls of `method` whose params contain every `match` item."""
        with self._lock:
            calls = list(self.calls)
        return [
            c
            for c in calls
            if c.method == method and c.status == 200 and all(c.params.get(k) == v for k, v in match.items())
        ]

    def attempts(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    # -- the server ------------------------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        method = url.path.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(parse_qsl(url.query))
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        kind = handler.headers.get("Content-Type", "")
        if body and "json" in kind:
            params.update(json.loads(body))
        elif body:
            params.update(dict(parse_qsl(body.decode())))
        for key in ("blocks", "view", "attachments"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        token = (handler.headers.get("Authorization") or "").removeprefix("Bearer ")
        with self._lock:
            times, retry_after = self._failures.get(method, (0, 0))
            limited = times > 0
            if limited:
                self._failures[method] = (times - 1, retry_after)
            answer = {"ok": False, "error": "ratelimited"} if limited else self._answer(method, params)
            self.calls.append(Call(method, params, token, 429 if limited else 200, answer))
        if limited:
            self._reply(handler, 429, answer, {"Retry-After": str(retry_after)})
            return
        self._reply(handler, 200, answer)

    @staticmethod
    def _reply(
        handler: BaseHTTPRequestHandler,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1800000000 + n}.{n:06d}"

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        answers: dict[str, Callable[[], dict[str, Any]]] = {
            "auth.test": lambda: {
                "url": "https://acme.slack.com/",
                "team": "Acme",
                "user": "helpdesk",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            },
            "chat.postMessage": lambda: {
                "channel": params.get("channel"),
                "ts": self._next_ts(),
                "message": {"text": params.get("text", ""), "user": BOT_USER_ID, "bot_id": BOT_ID},
            },
            "chat.update": lambda: {
                "channel": params.get("channel"),
                "ts": params.get("ts"),
                "text": params.get("text", ""),
            },
            "chat.postEphemeral": lambda: {"message_ts": self._next_ts()},
            "conversations.members": lambda: {
                "members": self.members.get(str(params.get("channel")), []),
                "response_metadata": {"next_cursor": ""},
            },
            "usergroups.users.list": lambda: {"users": self.usergroups.get(str(params.get("usergroup")), [])},
            "conversations.open": lambda: {"channel": {"id": "D" + str(params.get("users", "")).lstrip("U")}},
            "views.open": lambda: {"view": {"id": "V" + self._next_ts().replace(".", "")}},
            "users.info": lambda: {
                "user": {
                    "id": params.get("user"),
                    "name": str(params.get("user")).lower(),
                    "real_name": f"Agent {params.get('user')}",
                    "profile": {"display_name": "", "real_name": f"Agent {params.get('user')}"},
                }
            },
        }
        return {"ok": True, **answers.get(method, dict)()}
