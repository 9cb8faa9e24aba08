"""A local stand-in for Anthropic's Messages API (`POST /v1/messages`), scripted per test.

It speaks the documented wire format: a `message` object, or with `"stream": true` the server-sent events
message_start, content_block_start, ping, content_block_delta (text_delta), content_block_stop,
message_delta (with the output tokens) and message_stop; errors as `{"type": "error", "error": {...}}`.
The real `langchain_anthropic.ChatAnthropic` client talks to it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.fakes.scripted import Scripted, scripted
from tests.net import QuietHandler, serve_in_background


class FakeAnthropic:
    def __init__(self) -> None:
        self.replies: list[str | Scripted] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.streamed: list[str] = []
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                fake.requests.append(body)
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path.rstrip("/") != "/v1/messages":
                    self.send_error(404)
                    return
                reply = scripted(fake.replies.pop(0) if fake.replies else "NO_ANSWER")
                try:
                    reply.wait()
                    if reply.body is not None or reply.status != 200:
                        fake._fail(self, reply)
                    elif body.get("stream"):
                        fake._stream(self, body, reply)
                    else:
                        fake._whole(self, body, reply)
                except OSError:
                    pass

        self.server = serve_in_background(Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @staticmethod
    def _send(handler: QuietHandler, status: int, payload: bytes) -> None:
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _fail(self, handler: QuietHandler, reply: Scripted) -> None:
        payload = reply.body if reply.body is not None else json.dumps(
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}).encode()
        self._send(handler, reply.status, payload)

    def _message(self, body: dict[str, Any], content: list[dict[str, Any]], reply: Scripted,
                 output_tokens: int) -> dict[str, Any]:
        return {"id": f"msg_{len(self.requests):04d}", "type": "message", "role": "assistant",
                "model": body.get("model", "stand-in"), "content": content,
                "stop_reason": "end_turn" if content else None, "stop_sequence": None,
                "usage": {"input_tokens": reply.input_tokens, "output_tokens": output_tokens}}

    def _whole(self, handler: QuietHandler, body: dict[str, Any], reply: Scripted) -> None:
        self._send(handler, 200, json.dumps(
            self._message(body, [{"type": "text", "text": reply.text}], reply, reply.tokens_out())).encode())

    def _stream(self, handler: QuietHandler, body: dict[str, Any], reply: Scripted) -> None:
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.end_headers()

        def event(name: str, data: dict[str, Any]) -> None:
            handler.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            handler.wfile.flush()

        event("message_start", {"type": "message_start", "message": self._message(body, [], reply, 1)})
        event("content_block_start", {"type": "content_block_start", "index": 0,
                                      "content_block": {"type": "text", "text": ""}})
        event("ping", {"type": "ping"})
        for word in reply.words():
            if reply.word_delay:
                time.sleep(reply.word_delay)
            event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                          "delta": {"type": "text_delta", "text": word}})
            self.streamed.append(word)
        event("content_block_stop", {"type": "content_block_stop", "index": 0})
        event("message_delta", {"type": "message_delta",
                                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                "usage": {"output_tokens": reply.tokens_out()}})
        event("message_stop", {"type": "message_stop"})

    def close(self) -> None:
        self.server.shutdown()
