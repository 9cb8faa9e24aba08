"""Greetings, thanks and other small talk, and questions outside the help centre: answered with a short
built-in reply instead of a handoff, so agents' queues hold only what needs a person.

Every text is configurable per deployment (`SmallTalk`), and a deployment that prefers people to see
off-topic questions sets `off_topic: escalate`. An explicit request for a person never reaches this module.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, Field


class Kind(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"
    GOODBYE = "goodbye"
    BOT_IDENTITY = "bot_identity"
    HOW_ARE_YOU = "how_are_you"
    OFF_TOPIC = "off_topic"
    INSTRUCTIONS = "instructions"  # the message tries to instruct the bot


_FILLER = r"[\s,.!?:;)(-]*"
_PATTERNS: dict[Kind, re.Pattern[str]] = {
    Kind.GREETING: re.compile(
        rf"^{_FILLER}(?:hi|hello|hey|hiya|howdy|yo|good (?:morning|afternoon|evening|day)|greetings)"
        rf"(?: there| all| team| folks| everyone)?{_FILLER}$", re.I),
    Kind.THANKS: re.compile(
        rf"^{_FILLER}(?:(?:ok(?:ay)?|great|perfect|cool|awesome|nice|got it|brilliant)[\s,.!]*)?"
        rf"(?:thanks?(?: you)?(?: (?:so|very) much)?(?: a lot)?|thx|ty|cheers|much appreciated|that helped"
        rf"|that'?s (?:helpful|great|perfect)){_FILLER}$", re.I),
    Kind.GOODBYE: re.compile(rf"^{_FILLER}(?:bye|goodbye|see (?:you|ya)|that'?s all|have a (?:good|nice) day"
                             rf"|nothing else){_FILLER}$", re.I),
    Kind.BOT_IDENTITY: re.compile(
        rf"^{_FILLER}(?:are you (?:a |an )?(?:bot|robot|real|human|person|ai|machine)"
        rf"|am i (?:talking|chatting|speaking) (?:to|with) (?:a |an )?(?:bot|robot|human|person|real person|ai)"
        rf"|who are you|what are you|is this (?:a |an )?(?:bot|robot|human|ai)){_FILLER}$", re.I),
    Kind.HOW_ARE_YOU: re.compile(rf"^{_FILLER}(?:how are you|how'?s it going|how do you do|what'?s up)"
                                 rf"(?: today)?{_FILLER}$", re.I),
}


def small_talk(text: str) -> Kind | None:
    """The kind of small talk a whole message is, or None when it asks something."""
    if len(text) > 80:
        return None
    for kind, pattern in _PATTERNS.items():
        if pattern.match(text):
            return kind
    return None


def _defaults() -> dict[Kind, str]:
    return {
        Kind.GREETING: "Hello! I'm the support assistant. Ask me anything about {scope}.",
        Kind.THANKS: "You're welcome! Anything else I can help with?",
        Kind.GOODBYE: "Thanks for getting in touch. Goodbye!",
        Kind.BOT_IDENTITY: "I'm an automated assistant that answers from our help centre. "
                           "Type \"talk to a person\" at any time to reach our support team.",
        Kind.HOW_ARE_YOU: "I'm doing well, thanks for asking. What can I help you with?",
        Kind.OFF_TOPIC: "I can only help with {scope}, and I couldn't find that in our help centre. "
                        "If you'd like, I can connect you with a person: just say \"talk to a person\".",
        Kind.INSTRUCTIONS: "I can't follow instructions like that. I can answer questions about {scope}, "
                           "or connect you with a person if you say \"talk to a person\".",
    }


class SmallTalk(BaseModel):
    """Per deployment: what the help centre covers, the built-in replies, and what off-topic questions get."""

    scope: str = "our product and your account"
    off_topic: str = Field("reply", pattern="^(reply|escalate)$")
    replies: dict[Kind, str] = Field(default_factory=_defaults)

    def reply(self, kind: Kind) -> str:
        text = self.replies.get(kind) or _defaults()[kind]
        return text.replace("{scope}", self.scope)
