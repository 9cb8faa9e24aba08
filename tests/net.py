"""Network helpers shared by tests that start real servers."""

from __future__ import annotations

import socket


def free_port() -> int:
    """An ephemeral port nothing listens on once the probe socket is closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
