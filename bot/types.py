"""Channel-neutral value objects: every connector converts to and from these."""

from __future__ import annotations

import re
import time
import uuid
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from bot.actions import ActionResult, Identity
from bot.files import Attachment


def readable(value: object) -> object:
    """Text that can be stored and sent: lone surrogates ("\\ud800", broken UTF-16 from a client or an
    undecodable byte kept by surrogateescape) become U+FFFD instead of failing every encoder downstream."""
    if isinstance(value, str) and any("\ud800" <= ch <= "\udfff" for ch in value):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


Text = Annotated[str, BeforeValidator(readable)]

# "Has a character that is not white space", as both the published schema (ECMAScript regex, whose \s differs
# from Python's) and str.strip() understand it: the white space listed here is exactly what str.isspace() says.
NOT_BLANK = ("[^\\t-\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f"
             "\\u205f\\u3000]")


def not_blank(message: str) -> AfterValidator:
    """Strips a text and refuses one that is only white space, saying `message`: the check every text
    field whose schema carries NOT_BLANK makes on the server."""

    def check(value: str) -> str:
        if not value.strip():
            raise ValueError(message)
        return value.strip()

    return AfterValidator(check)


def new_id() -> str:
    """Random, unguessable identifier (also used for tokens)."""
    return uuid.uuid4().hex


def now() -> float:
    return time.time()


class Model(BaseModel):
    """Validation errors never repeat the input: it holds what customers wrote, and errors reach logs."""

    model_config = ConfigDict(hide_input_in_errors=True)


class Role(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class Participant(Model):
    """Who speaks. For agents `id` is the login and `name` the display name customers see (empty: none set,
    and customers see "a member of our support team", never the login)."""

    model_config = ConfigDict(frozen=True)

    role: Role
    id: Text = ""
    name: Text = ""
    avatar_url: Text = ""


class Citation(Model):
    """A source a reply rests on: shown to the customer as a link or a title."""

    model_config = ConfigDict(frozen=True)

    title: str
    source: str
    passage_id: str = ""
    snippet: str = ""
    score: float = 0.0
    section: str = ""  # the page's section the reply comes from ("How to cancel")

    def link(self) -> str:
        """Where "read more" points: the section's anchor on a web page, else the source itself."""
        if not self.section or not self.source.startswith(("http://", "https://")) or "#" in self.source:
            return self.source
        heading = self.section.split(" › ")[-1].strip().lower()
        anchor = re.sub(r"\s+", "-", re.sub(r"[^\w\s-]", "", heading)).strip("-")
        return f"{self.source}#{anchor}" if anchor else self.source


class Message(Model):
    """One inbound or outbound utterance, whatever channel it came through."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_id)
    conversation_id: str
    channel: str
    sender: Participant
    text: Text
    created_at: float = Field(default_factory=now)
    citations: tuple[Citation, ...] = ()
    internal: bool = False
    asks_for_person: bool = False  # the channel says so (a button, a Rasa intent), whatever the words
    attachments: tuple[Attachment, ...] = ()
    raw: dict[str, Any] = Field(default_factory=dict)


class Decision(StrEnum):
    ANSWERED = "answered"
    DRAFTED = "drafted"
    ESCALATED = "escalated"


class Owner(StrEnum):
    """Who speaks for the support side right now."""

    BOT = "bot"
    PENDING_HUMAN = "pending_human"
    HUMAN = "human"


class Phase(StrEnum):
    """How far a category is trusted to the bot."""

    CATEGORIZE = "categorize"
    DRAFT = "draft"
    FULL = "full"


class EscalationReason(StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    NO_ANSWER = "no_answer"
    REQUESTED = "requested"
    GATED = "gated"
    OUT_OF_SCOPE = "out_of_scope"
    FRUSTRATED = "frustrated"  # anger or a complaint, or the bot could not help twice in a row
    ACTION_FAILED = "action_failed"  # a call to the company's systems failed: a person sees its result
    DRAFT_REVIEW = "draft_review"
    ERROR = "error"


class ModelCall(Model):
    """One call to a language model: what it cost, so a turn, a day or a category can be priced.

    `outcome` is ok, no_answer, error, timeout, malformed or withdrawn (a streamed answer stopped at a
    sentence the passages do not back); a failed call still counts the tokens it was billed for.
    """

    model: str
    outcome: str = "ok"
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    cost: float = 0.0


class TurnOutcome(Model):
    """What the bot decided for one customer turn, with the evidence."""

    decision: Decision
    text: str = ""
    citations: list[Citation] = Field(default_factory=list)
    confidence: float = 0.0
    reason: EscalationReason | None = None
    explanation: str = ""
    category: str = "general"
    phase: Phase = Phase.FULL
    signals: dict[str, float] = Field(default_factory=dict)
    searched: str = ""  # what the knowledge base was searched with: the question ← the turns that steered it
    handled_as: str = ""  # a built-in reply instead of a handoff: greeting, thanks, off_topic, instructions ...
    needs_action: str = ""  # the question is about the customer's own data: the action that looks it up
    action: ActionCall | None = None  # the call to the company's systems this turn made, for the agent
    answered_by: str = ""  # who wrote the text: "composer" or a model ("anthropic:claude-haiku")
    model_calls: list[ModelCall] = Field(default_factory=list)  # every model asked this turn, in order


class ActionCall(Model):
    """One call an action made, as agents see it: the inputs (personal data labelled) and the result."""

    name: str
    inputs: dict[str, str] = Field(default_factory=dict)
    result: ActionResult
    # the values as given, for "run again": kept in the conversation's state, never serialized with the call
    values: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)


class Draft(Model):
    """A bot reply waiting for an agent's approve / edit / reject."""

    id: str = Field(default_factory=new_id)
    conversation_id: str
    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    confidence: float = 0.0
    category: str = "general"
    created_at: float = Field(default_factory=now)


class HandoffStatus(StrEnum):
    QUEUED = "queued"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class Handoff(Model):
    """A request for a human, as it sits in the agents' queue."""

    id: str
    conversation_id: str
    channel: str
    reason: EscalationReason
    category: str = "general"
    queue: str = "general"
    priority: int = 1
    question: str = ""
    explanation: str = ""
    status: HandoffStatus = HandoffStatus.QUEUED
    created_at: float = Field(default_factory=now)
    claimed_by: str | None = None
    claimed_at: float | None = None
    reminders: int = 0
    draft: Draft | None = None
    shadow: TurnOutcome | None = None


class ConversationState(Model):
    """Everything any process needs to continue a conversation; lives in the store."""

    id: str
    channel: str
    customer: Participant
    owner: Owner = Owner.BOT
    category: str = "general"
    phase: Phase = Phase.FULL
    slots: dict[str, Any] = Field(default_factory=dict)
    handoff_id: str | None = None
    agent: str | None = None
    pending_draft: Draft | None = None
    token_hash: str = ""
    identity: Identity = Field(default_factory=Identity)  # who the customer is, as a signature vouches
    created_at: float = Field(default_factory=now)
    updated_at: float = Field(default_factory=now)
