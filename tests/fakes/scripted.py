"""What a stand-in model API answers to one request: a text, or a failure of the kind providers have."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass


@dataclass
class Scripted:
    """One reply. `status` other than 200 answers with the provider's error body; `body` replaces the whole
    response with raw bytes (malformed JSON); `delay` holds the reply back (a slow model); a streamed reply
    goes out a word at a time, `word_delay` apart."""

    text: str = ""
    status: int = 200
    body: bytes | None = None
    delay: float = 0.0
    word_delay: float = 0.0
    input_tokens: int = 120
    output_tokens: int | None = None  # None: one a word

    def tokens_out(self) -> int:
        return self.output_tokens if self.output_tokens is not None else len(self.text.split())

    def words(self) -> list[str]:
        """The text in pieces as a streaming API sends them, white space kept."""
        return re.findall(r"\S+\s*|\s+", self.text)

    def wait(self) -> None:
        if self.delay:
            time.sleep(self.delay)


def scripted(reply: str | Scripted) -> Scripted:
    return reply if isinstance(reply, Scripted) else Scripted(text=reply)
