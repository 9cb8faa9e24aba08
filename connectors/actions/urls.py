"""Where an action may send a request: only to hosts the file lists, with customer values confined to path
segments and query values, so no address is ever built from what a customer typed."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

_PLACEHOLDER = re.compile(r"\{\{.*?\}\}", re.S)


def host_allowed(url: str, allowed_hosts: Iterable[str]) -> bool:
    """Whether a rendered URL goes to a listed host over HTTP(S); an entry is `host` or `host:port`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return False
    host = parts.hostname.lower()
    port = port or (443 if parts.scheme == "https" else 80)
    allowed = {h.lower() for h in allowed_hosts}
    return host in allowed or f"{host}:{port}" in allowed


def check_url_template(url: str, allowed_hosts: Iterable[str]) -> str | None:
    """Why a URL template is unsafe, or None: the scheme and host must be literal and listed, and each
    `{{ }}` must sit in the path or a query value (values are percent-encoded whole when rendered)."""
    if "{%" in url or "{#" in url:
        return f"url '{url}' may hold only {{{{ }}}} placeholders, not blocks or comments"
    first = url.find("{{")
    literal = url if first < 0 else url[:first]
    parts = urlsplit(literal)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"url '{url}' must start with http:// or https:// and a literal host"
    if first >= 0 and not parts.path.startswith("/"):
        return f"url '{url}' places a value in the host; values may fill path segments and query values only"
    if not host_allowed(literal if first < 0 else f"{parts.scheme}://{parts.netloc}/", allowed_hosts):
        return f"host '{parts.netloc}' of url '{url}' is not in allowed_hosts"
    query_at, fragment_at = url.find("?"), url.find("#")
    for match in _PLACEHOLDER.finditer(url):
        start = match.start()
        if 0 <= fragment_at < start:
            return f"url '{url}' places a value in the fragment"
        if 0 <= query_at < start:
            pair = re.split(r"[?&]", url[:start])[-1]
            if "=" not in pair:
                return f"url '{url}' places a value in a query name; values may fill query values only"
    return None
