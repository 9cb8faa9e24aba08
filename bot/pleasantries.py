"""The question inside a polite message: greetings, introductions and sign-offs taken off its ends.

"Hi, this is Priya from design. How long do refunds take? Thanks! – Jo" asks what "How long do refunds take?"
asks; the wrapping words only pull its meaning towards small talk and add names that no help-centre page
holds. The stored message keeps every word; search, the reader and the composer read the question.
"""

from __future__ import annotations

import re

_NAME = r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,2}"
_OPENING = re.compile(
    r"^\s*(?:(?:hi|hello|hey|hiya|howdy|greetings|good (?:morning|afternoon|evening|day))"
    r"(?:\s+(?:there|all|team|folks|everyone|guys|support(?: team)?))?|dear\s+[\w ]{1,30}?(?:\s+team)?)"
    r"(?:\s*[,!.:;-]+\s*|\s+(?=[A-Za-z]))", re.I)
_INTRODUCTION = re.compile(
    rf"^\s*(?:(?:it'?s|this is|i am|i'm|my name is|(?i:this is|i am|i'm|my name is))\s+{_NAME}"
    rf"(?:\s+(?:from|at|with|in|on)\s+[^.!?\n]{{1,40}})?\s*[.!,]\s*)")
_SIGN_OFF_WORDS = (r"(?:many\s+)?(?:thanks|thank\s+you|thx|ty|cheers|regards|kind\s+regards|best\s+regards|"
                   r"best\s+wishes|best|br|sincerely|all\s+the\s+best|appreciate\s+it|much\s+appreciated)"
                   r"(?:\s+(?:a\s+lot|so\s+much|very\s+much|in\s+advance|again))?")
_SIGN_OFF = re.compile(rf"(?:^|(?<=[.!?\n]))\s*(?i:{_SIGN_OFF_WORDS})\s*[,.!]*\s*(?:[-–—]?\s*{_NAME})?\s*[.!]*\s*$")
_SIGNATURE = re.compile(rf"(?:\n|\s[-–—]+)\s*[-–—]?\s*{_NAME}\s*$")


def core_question(text: str) -> str:
    """`text` without a greeting or introduction before it and sign-offs or a signature after it; the text
    itself when nothing would be left to ask."""
    core = text
    for _ in range(3):
        before = core
        core = _OPENING.sub("", core, count=1)
        core = _INTRODUCTION.sub("", core, count=1)
        core = _SIGNATURE.sub("", core, count=1)
        core = _SIGN_OFF.sub("", core, count=1)
        if core == before:
            break
    core = core.strip()
    return core if len(core.split()) >= 2 else text.strip()
