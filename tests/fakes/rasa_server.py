"""A local stand-in for the Rasa server's HTTP API (`rasa run --enable-api --auth-token T`).

It answers `POST /conversations/{sender_id}/tracker/events` as Rasa documents it: token auth through the
`token` query parameter (401 otherwise), a JSON list (or one object) of events appended to that sender's
tracker, and the tracker in the response, `paused` following `pause` and `resume` events. Every call is
recorded, so a test can see what reached which user.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from tests.net import QuietHandler, serve_in_background


@dataclass
class FakeRasa:
    token: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    trackers: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def tracker(self, sender_id: str) -> dict[str, Any]:
        return self.trackers.setdefault(sender_id, {"sender_id": sender_id, "events": [], "paused": False})

    def delivered(self, sender_id: str) -> list[str]:
        """Texts of the bot events that reached this user through the output channel."""
        with self.lock:
            return [e["text"] for call in self.calls if call["sender_id"] == sender_id
                    and call["execute_side_effects"] for e in call["events"] if e["event"] == "bot"]


def start_fake_rasa(token: str = "rasa-secret") -> tuple[FakeRasa, str, Any]:
    """The stand-in, its base URL and the server (call `shutdown()` when done)."""
    fake = FakeRasa(token)

    class Handler(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server naming
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            parts = url.path.strip("/").split("/")
            if query.get("token") != fake.token:
                return self._answer(401, {"version": "3.10.0", "status": "failure", "reason": "NotAuthenticated",
                                          "message": "User is not authenticated.", "code": 401})
            if len(parts) != 4 or parts[0] != "conversations" or parts[2:] != ["tracker", "events"]:
                return self._answer(404, {"status": "failure", "reason": "NotFound", "code": 404})
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"[]")
            events = body if isinstance(body, list) else [body]
            sender_id = unquote(parts[1])
            with fake.lock:
                fake.calls.append({"sender_id": sender_id, "events": events,
                                   "output_channel": query.get("output_channel"),
                                   "execute_side_effects": query.get("execute_side_effects") == "true"})
                tracker = fake.tracker(sender_id)
                for event in events:
                    tracker["events"].append(event)
                    if event.get("event") in ("pause", "resume"):
                        tracker["paused"] = event["event"] == "pause"
                answer = json.loads(json.dumps(tracker))
            self._answer(200, answer)

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = serve_in_background(Handler)
    return fake, f"http://127.0.0.1:{server.server_address[1]}", server
