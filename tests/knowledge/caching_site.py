"""A help-centre site on a local HTTP server that answers conditional requests as a CDN would, and counts
what went over the wire: every request, and every response that carried a page's body."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

from tests.net import QuietHandler, serve_in_background


class Site:
    """Pages by path; `etag` / `last_modified` say which validators the server sends and honours, `honour`
    False makes it send them but always answer 200 (as some servers do). `gone` paths answer 410."""

    def __init__(self, *, etag: bool = True, last_modified: bool = True, honour: bool = True) -> None:
        self.pages: dict[str, str] = {}
        self.modified: dict[str, float] = {}
        self.gone: set[str] = set()
        self.etag, self.last_modified, self.honour = etag, last_modified, honour
        self.requests: Counter[str] = Counter()
        self.bodies: Counter[str] = Counter()
        self.conditional: Counter[str] = Counter()
        self.base = ""
        self._lock = threading.Lock()

    def put(self, path: str, html: str, *, modified: float | None = None) -> None:
        """Publish or change a page; its Last-Modified is `modified` or now."""
        self.pages[path] = html
        self.modified[path] = modified if modified is not None else time.time()

    def remove(self, path: str, *, gone: bool = False) -> None:
        del self.pages[path]
        if gone:
            self.gone.add(path)

    def reset_counts(self) -> None:
        with self._lock:
            for counter in (self.requests, self.bodies, self.conditional):
                counter.clear()

    def page_bodies(self) -> int:
        """Page bodies sent (robots.txt and the sitemap are not pages)."""
        return sum(n for path, n in self.bodies.items() if path.endswith(".html"))

    def sitemap(self, *paths: str) -> None:
        self.pages["/sitemap.xml"] = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(f"<url><loc>{self.base}{p}</loc></url>" for p in paths) + "</urlset>")
        self.modified["/sitemap.xml"] = time.time()

    def validators(self, path: str) -> dict[str, str]:
        out = {}
        if self.etag:
            out["ETag"] = '"' + hashlib.sha1(self.pages[path].encode()).hexdigest()[:16] + '"'
        if self.last_modified:
            out["Last-Modified"] = formatdate(self.modified[path], usegmt=True)
        return out

    def not_modified(self, path: str, headers: Any) -> bool:
        """RFC 9110 §13.2.2: If-None-Match decides when present, else If-Modified-Since."""
        if not self.honour:
            return False
        mine = self.validators(path)
        if headers.get("If-None-Match") is not None:
            return "ETag" in mine and mine["ETag"] in [t.strip() for t in headers["If-None-Match"].split(",")]
        since = headers.get("If-Modified-Since")
        if since is None or "Last-Modified" not in mine:
            return False
        return int(self.modified[path]) <= parsedate_to_datetime(since).timestamp()


@contextmanager
def serve(site: Site) -> Iterator[Site]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = self.path.split("?")[0]
            with site._lock:
                site.requests[path] += 1
                if "If-None-Match" in self.headers or "If-Modified-Since" in self.headers:
                    site.conditional[path] += 1
            if path in site.gone:
                return self._send(410, b"")
            if path not in site.pages:
                return self._send(404, b"")
            if site.not_modified(path, self.headers):
                return self._send(304, b"", site.validators(path))
            with site._lock:
                site.bodies[path] += 1
            kind = "text/html; charset=utf-8" if path.endswith(".html") else "application/xml"
            self._send(200, site.pages[path].encode(), {**site.validators(path), "Content-Type": kind})

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = serve_in_background(Handler)
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
