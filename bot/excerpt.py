"""Pieces of a longer text to show in a small space: whole words only, marked with … where cut."""

from __future__ import annotations

import re
from functools import lru_cache

_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+|\n+")
_NOT_WORD = re.compile(r"[^\w]+")


def excerpt(text: str, start: int = 0, width: int = 280) -> str:
    """About `width` characters of `text` from `start`, moved back to the start of its word and cut after a
    whole word; an ellipsis says text was left out before or after."""
    if len(text) <= width:
        return text
    start = min(max(0, start), max(0, len(text) - width))
    if start and not text[start - 1].isspace():
        start = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start)) + 1
    end = start + width
    if end < len(text) and not text[end].isspace():
        end = max(text.rfind(" ", start, end), text.rfind("\n", start, end))
        end = end if end > start else start + width
    head = "\u2026" if start else ""
    tail = "\u2026" if end < len(text) else ""
    return head + text[start:end].strip() + tail


def folded(text: str) -> str:
    """Lower case words only, to compare sentences whatever their punctuation and markup."""
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


def first_used_sentence(text: str, used: str) -> int:
    """Where the first sentence of `text` that `used` repeats begins; 0 when it repeats none."""
    target = folded(used)
    if not target:
        return 0
    return next((at for at, words in _sentences(text) if words in target), 0)


@lru_cache(maxsize=4096)  # passages are cited answer after answer: each is split once
def _sentences(text: str) -> tuple[tuple[int, str], ...]:
    """Where each sentence of at least four words begins, with its folded words."""
    out: list[tuple[int, str]] = []
    position = 0
    for piece in _SENTENCE_END.split(text):
        at = text.find(piece, position)
        position = at + len(piece) if at >= 0 else position
        words = folded(piece)
        if len(words.split()) >= 4:
            out.append((max(at, 0), words))
    return tuple(out)
