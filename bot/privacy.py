"""Personal data in customers' words: card numbers, CVVs, email addresses, phone numbers and IBANs.

They are replaced by a label before a customer's words reach a language model, the turn journal (and so
analytics, reports and exports) or an outside webhook. The conversation itself keeps what the customer
wrote, for the agent who answers them. Checksums (Luhn for cards, mod 97 for IBANs) keep order numbers and
amounts from being taken for card or account numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

KINDS = ("card", "cvv", "email", "iban", "phone")

_CARD = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
_CVV = re.compile(r"\b(cvv2?|cvc2?|csc|security code)(\W{0,3})(\d{3,4})\b", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d ().-]{7,18}\d(?!\w)")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    compact = text.replace(" ", "")
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[card number]" if 13 <= len(digits) <= 19 and luhn_valid(digits) else match.group(0)


def _iban(match: re.Match[str]) -> str:
    return "[IBAN]" if iban_valid(match.group(0)) else match.group(0)


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[phone number]" if 9 <= len(digits) <= 15 else match.group(0)


_RULES: dict[str, tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str]] = {
    "card": (_CARD, _card),
    "cvv": (_CVV, r"\1\2[CVV]"),
    "email": (_EMAIL, "[email address]"),
    "iban": (_IBAN, _iban),
    "phone": (_PHONE, _phone),
}


class Redactor:
    """Replaces the configured kinds of personal data; an empty set of kinds changes nothing."""

    REMEMBERED = 4096  # texts whose redaction is kept: a turn redacts the conversation's earlier exchanges again

    def __init__(self, kinds: Iterable[str] = KINDS) -> None:
        self.kinds = tuple(k for k in KINDS if k in set(kinds))
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown personal data kind(s) {sorted(unknown)}; known: {list(KINDS)}")
        self._done: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        if (done := self._done.get(text)) is not None:
            return done
        redacted = text
        for kind in self.kinds:  # cards before phones: a card number is also a long run of digits
            pattern, replacement = _RULES[kind]
            redacted = pattern.sub(replacement, redacted)
        if len(self._done) >= self.REMEMBERED:
            self._done.clear()  # a fresh start: no iteration another thread's insert could upset
        self._done[text] = redacted
        return redacted
