"""A local stand-in for an OpenAI-compatible chat API (`POST /v1/chat/completions`), scripted per test.

It speaks the documented wire format, streaming included (server-sent `chat.completion.chunk` events, the
usage in a last chunk when `stream_options.include_usage` asks for it), so the real
`langchain_openai.ChatOpenAI` client talks to it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.fakes.scripted import Scripted, scripted
from tests.net import QuietHandler, serve_in_background


class FakeOpenAI:
    def __init__(self) -> None:
        self.replies: list[str | Scripted] = []
        self.requests: list[dict[str, Any]] = []
        self.streamed: list[str] = []  # the pieces of streamed text that went over the wire
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                fake.requests.append(body)
                if not self.path.endswith("/chat/completions"):
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
                except OSError:  # the client gave up (its timeout) or closed the stream
                    pass

        self.server = serve_in_background(Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @staticmethod
    def _send(handler: QuietHandler, status: int, payload: bytes, kind: str = "application/json") -> None:
        handler.send_response(status)
        handler.send_header("content-type", kind)
        handler.send_header("content-length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _fail(self, handler: QuietHandler, reply: Scripted) -> None:
        payload = reply.body if reply.body is not None else json.dumps(
            {"error": {"message": "The server had an error", "type": "server_error", "code": None}}).encode()
        self._send(handler, reply.status, payload)

    def _whole(self, handler: QuietHandler, body: dict[str, Any], reply: Scripted) -> None:
        self._send(handler, 200, json.dumps({
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "stand-in"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": reply.text}}],
            "usage": {"prompt_tokens": reply.input_tokens, "completion_tokens": reply.tokens_out(),
                      "total_tokens": reply.input_tokens + reply.tokens_out()},
        }).encode())

    def _stream(self, handler: QuietHandler, body: dict[str, Any], reply: Scripted) -> None:
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.end_headers()
        base = {"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": body.get("model", "stand-in")}

        def event(data: dict[str, Any] | str) -> None:
            text = data if isinstance(data, str) else json.dumps(data)
            handler.wfile.write(f"data: {text}\n\n".encode())
            handler.wfile.flush()

        event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                    "finish_reason": None}]})
        for word in reply.words():
            if reply.word_delay:
                time.sleep(reply.word_delay)
            event({**base, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]})
            self.streamed.append(word)
        event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            event({**base, "choices": [], "usage": {
                "prompt_tokens": reply.input_tokens, "completion_tokens": reply.tokens_out(),
                "total_tokens": reply.input_tokens + reply.tokens_out()}})
        event("[DONE]")

    def close(self) -> None:
        self.server.shutdown()
