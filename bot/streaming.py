"""The live events of an answer shown while a model writes it: one per sentence that passed the citation
check, and one that takes them all back. The widget reads them; the stored reply (or the handoff) that ends
the turn replaces them."""

from __future__ import annotations

from typing import Any

from bot import messages


def stream_sentence(stream: str, index: int, text: str) -> dict[str, Any]:
    """Sentence `index` (0, 1, ...) of the answer to message `stream`, checked against the passages."""
    return {"type": "stream", "stream": stream, "index": index, "text": text}


def stream_withdrawn(stream: str) -> dict[str, Any]:
    """The sentences shown for message `stream` are withdrawn; `text` is the plain line shown instead."""
    return {"type": "stream_withdrawn", "stream": stream, "text": messages.answer_withdrawn()}
