"""What a console password must be before it is set: long enough, not blank, and hard to guess.

Strength is zxcvbn's estimate, made offline from the lists it ships (passwords from public breaches, common
words and names, keyboard walks, dates) and from the account's own names; nothing leaves the process.
"""

from __future__ import annotations

from collections.abc import Iterable

from zxcvbn import zxcvbn

MIN_LENGTH = 10
MIN_SCORE = 3  # zxcvbn's "safely unguessable": about 10^8 guesses or more
SCORED_LENGTH = 72  # zxcvbn refuses longer input; characters past it only add to the strength


class WeakPassword(ValueError):
    """The password was refused; the message names the reason, for the admin page and the command line."""


def check_strength(password: str, *, user_inputs: Iterable[str] = ()) -> None:
    """Raise WeakPassword unless `password` may be set; `user_inputs` (login, display name) count as guessable."""
    if not password.strip():
        raise WeakPassword("password must not be blank")
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"password must have at least {MIN_LENGTH} characters")
    result = zxcvbn(password[:SCORED_LENGTH], user_inputs=[word for word in user_inputs if word])
    if result["score"] < MIN_SCORE:
        feedback = result["feedback"]
        named = any(match.get("dictionary_name") == "user_inputs" for match in result["sequence"])
        reason = feedback["warning"] or ("It contains the account's own name." if named else "It is easy to guess.")
        advice = " ".join(feedback["suggestions"])
        raise WeakPassword(f"password is too easy to guess: {reason} {advice}".strip())
