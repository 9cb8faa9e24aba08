"""A local stand-in of the Slack Web API: a real HTTP server on an ephemeral port that records every call.

It answers the way Slack documents (`{"ok": true, ...}`), and can answer the next N calls of a method with
HTTP 429 + `Retry-After`, so clients are tested against the same wire format as production. Files go both
ways as on Slack: `share` serves a file at its `url_private_download` to the bot token only (anyone else gets
the sign-in page, as Slack answers), and uploads follow files.getUploadURLExternal → POST the bytes to the
upload URL → files.completeUploadExternal; `uploaded` holds what arrived.
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
        self.file_token = "xoxb-test"  # the bot token `share`d files are served to
        self.shared: dict[str, bytes] = {}  # path -> bytes
        self.uploaded: dict[str, tuple[str, bytes]] = {}  # file id -> (filename, bytes)

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

    @property
    def root(self) -> str:
        return self.url.removesuffix("/api/")

    def share(self, name: str, data: bytes, mimetype: str = "application/octet-stream", *,
              size: int | None = None) -> dict[str, Any]:
        """A file object as a `file_share` message event lists it; its bytes are served to the bot token."""
        file_id = f"F{next(self._ts):08d}"
        path = f"/files-pri/{TEAM_ID}-{file_id}/download/{name}"
        self.shared[path] = data
        return {"id": file_id, "name": name, "title": name, "mimetype": mimetype, "filetype": name.rsplit(".")[-1],
                "size": len(data) if size is None else size, "mode": "hosted", "is_external": False,
                "url_private": f"{self.root}/files-pri/{TEAM_ID}-{file_id}/{name}",
                "url_private_download": f"{self.root}{path}"}

    def completed_uploads(self, **match: Any) -> list[tuple[str, bytes]]:
        """(filename, bytes) of files whose upload was completed into a channel/thread matching `match`."""
        out = []
        for call in self.of("files.completeUploadExternal", **match):
            for item in call.params.get("files") or []:
                out.append(self.uploaded[item["id"]])
        return out

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
        if url.path.startswith(("/files-pri/", "/upload/")):
            self._serve_file(handler, url.path)
            return
        method = url.path.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(parse_qsl(url.query))
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        kind = handler.headers.get("Content-Type", "")
        if body and "json" in kind:
            params.update(json.loads(body))
        elif body:
            params.update(dict(parse_qsl(body.decode())))
        for key in ("blocks", "view", "attachments", "files"):
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

    def _serve_file(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        token = (handler.headers.get("Authorization") or "").removeprefix("Bearer ")
        if path.startswith("/upload/"):  # step 2 of an upload: the raw bytes
            length = int(handler.headers.get("Content-Length") or 0)
            data = handler.rfile.read(length)
            file_id = path.rsplit("/", 1)[-1]
            with self._lock:
                name = self.uploaded.get(file_id, ("", b""))[0]
                self.uploaded[file_id] = (name, data)
            body, kind = f"OK - {len(data)}".encode(), "text/plain"
        elif token != self.file_token or path not in self.shared:
            body, kind = b"<!DOCTYPE html><html><body>Sign in to Slack</body></html>", "text/html"
        else:
            body, kind = self.shared[path], "application/octet-stream"
        with self._lock:
            self.calls.append(Call("GET " + path if not path.startswith("/upload/") else "upload", {}, token))
        handler.send_response(200)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

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

    def _upload_url(self, filename: str) -> dict[str, Any]:
        file_id = f"F{next(self._ts):08d}"
        self.uploaded[file_id] = (filename, b"")
        return {"file_id": file_id, "upload_url": f"{self.root}/upload/v1/{file_id}"}

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
            "files.getUploadURLExternal": lambda: self._upload_url(str(params.get("filename", ""))),
            "files.completeUploadExternal": lambda: {
                "files": [{"id": f["id"], "title": f.get("title", "")} for f in params.get("files") or []]},
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
