"""Ids inside Redis key patterns (SCAN MATCH, KEYS): escaped, so an id is only ever itself.

A customer's id comes from outside (a Rasa sender id, a Slack user id, a username someone typed): `*` as an
id, put into `...:seen:rasa:*:*` unescaped, matches every conversation's keys.
"""

from __future__ import annotations

import re

_GLOB = re.compile(r"([*?\[\]\\])")


def literal(text: str) -> str:
    """`text` as a pattern that matches exactly it; add a wildcard after it for "everything under it"."""
    return _GLOB.sub(r"\\\1", text)
