"""What the bot would say to one customer turn, and whether it may say it (the phase gate)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence

from bot import messages
from bot.ceiling import ProvenFloors
from bot.confidence import Calibration, Signals, combine
from bot.gates import GENERAL, UNKNOWN_LABELS, GateConfig, Thresholds, with_floors, with_overrides
from bot.observer import Observer, StageTimes, Unobserved
from bot.pleasantries import core_question
from bot.ports import (
    ANSWERING,
    Answer,
    Answerer,
    AnsweringContext,
    Categorizer,
    Exchange,
    KnowledgeBase,
    Passage,
    Speller,
    last_said,
)
from bot.privacy import Redactor
from bot.reading import ESCALATING, Intent, MessageReader, Reading
from bot.safety import looks_like_injection
from bot.smalltalk import Kind, SmallTalk, small_talk
from bot.store import PhaseOverrides
from bot.types import Decision, EscalationReason, Message, Phase, Role, TurnOutcome

_HUMAN_REQUEST = re.compile(
    r"\b(talk|speak|chat|connect|transfer|put)\b.{0,30}\b(human|person|agent|someone|representative|operator|"
    r"real person|somebody|staff)\b|\b(human|live) (agent|support|person)\b|\brepresentative\b|\bhuman please\b",
    re.IGNORECASE,
)
HISTORY_TURNS = 6  # earlier exchanges the answer path sees
HISTORY_MESSAGES = 4 * HISTORY_TURNS  # stored messages read per turn: the exchanges around notices and chatter
REPLY_CONTEXT_WORDS = 64


def wants_human(text: str) -> bool:
    return bool(_HUMAN_REQUEST.search(text))


def exchanges(history: Sequence[Message]) -> list[Exchange]:
    """The conversation as the answering side sees it: customers' words and what support said, without
    internal notes, the system's own notices and small talk (none of them says anything about the topic)."""
    out: list[Exchange] = []
    chatter = False
    for m in history:
        if m.internal or m.sender.role not in (Role.CUSTOMER, Role.BOT, Role.AGENT):
            continue
        if m.sender.role is Role.CUSTOMER:
            chatter = small_talk(m.text) is not None
            if not chatter:
                out.append(Exchange(role="customer", text=m.text))
        elif not chatter:  # the reply to small talk is small talk too
            out.append(Exchange(role="support", text=m.text,
                                passages=[c.passage_id for c in m.citations if c.passage_id]))
    return out[-HISTORY_TURNS:]


def reply_passages(history: Sequence[Exchange]) -> list[str]:
    """The passages the last reply was composed from (none for a person's reply): what it was about."""
    return next((e.passages for e in reversed(history) if e.role == "support"), [])


def search_context(history: Sequence[Exchange]) -> list[str]:
    """The previous question and the last reply: what a follow-up ("is it free?") is about."""
    question, reply = last_said(history, "customer"), last_said(history, "support")
    # a reply's topic shows in its opening words, and the encoder's cost grows with the text's length
    reply = " ".join(reply.split()[:REPLY_CONTEXT_WORDS])
    return [t for t in (question, reply) if t]


class Responder:
    """Runs the policies in order: explicit request, small talk, category, gate, retrieval, answer, confidence."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        answerer: Answerer,
        gates: GateConfig,
        categorizer: Categorizer | None = None,
        top_k: int = 8,
        overrides: PhaseOverrides | None = None,
        calibration: Calibration | None = None,
        smalltalk: SmallTalk | None = None,
        redact: Callable[[str], str] | None = None,
        observer: Observer | None = None,
        inline_categorizer: bool = False,
        floors: ProvenFloors | None = None,
        reader: MessageReader | None = None,
        speller: Speller | None = None,
        actions: frozenset[str] = frozenset(),
    ) -> None:
        self.knowledge = knowledge
        self.answerer = answerer
        self.gates = gates  # as configured (the categories file)
        self.categorizer = categorizer
        self.top_k = top_k
        self.overrides = overrides
        self.calibration = calibration
        self.smalltalk = smalltalk or SmallTalk()
        self.redact = redact or Redactor()  # what the answerer (possibly a hosted model) and the journal see
        self.observer = observer or Unobserved()
        # a categorizer whose scoring costs less than a hop to a thread and back (the trained one: about
        # 0.15 ms a message) runs on the event loop; any other one in a thread, so it cannot stall the loop
        self.inline_categorizer = inline_categorizer
        self.reader = reader  # None: the patterns alone read messages
        self.speller = speller  # None: questions are searched as typed
        self.floors = floors  # proven confidence floors that raise `min_confidence` (None: not applied)
        self.actions = actions  # categories that are actions: their questions are answered by a call, not pages
        self._current: tuple[tuple[dict[str, Phase], dict[str, float]], GateConfig] = (({}, {}), gates)

    async def current_gates(self) -> GateConfig:
        """The configured gates with the phases changed since start and the proven confidence floors, rebuilt
        only when those change."""
        if self.overrides is None and self.floors is None:
            return self.gates
        changed = await self.overrides.load() if self.overrides is not None else {}
        floors = await self.floors.load() if self.floors is not None else {}
        if (changed, floors) != self._current[0]:
            self._current = ((changed, floors), with_floors(with_overrides(self.gates, changed), floors))
        return self._current[1]

    def categorize(self, text: str) -> tuple[str, float]:
        if self.categorizer is None:
            return GENERAL, 1.0
        prediction = self.categorizer.predict([text])[0]
        return prediction.label, prediction.probability

    def _built_in(self, kind: Kind, explanation: str, **update: object) -> TurnOutcome:
        return TurnOutcome(decision=Decision.ANSWERED, text=self.smalltalk.reply(kind), handled_as=kind.value,
                           explanation=explanation, confidence=1.0, **update)  # type: ignore[arg-type]

    def _off_topic(self, explanation: str, reason: EscalationReason, **update: object) -> TurnOutcome:
        if self.smalltalk.off_topic == "escalate":
            return TurnOutcome(decision=Decision.ESCALATED, reason=reason, explanation=explanation,
                               **update)  # type: ignore[arg-type]
        return self._built_in(Kind.OFF_TOPIC, explanation, **update)

    async def respond(self, message: Message, history: Sequence[Message] = ()) -> TurnOutcome:
        times = StageTimes()
        try:
            return await self._respond(message, history, times)
        finally:
            times.report(self.observer)

    def read(self, text: str) -> Reading:
        """What the message is. The patterns are a floor under the trained reader: an explicit request for a
        person or instructions to the bot are never missed, and a whole message of plain small talk stays
        small talk; everything else is the reader's call."""
        if wants_human(text):
            return Reading(intent=Intent.PERSON, by_pattern=True)
        if looks_like_injection(text):
            return Reading(intent=Intent.INSTRUCTIONS, by_pattern=True)
        reading = self.reader.read([text])[0] if self.reader is not None else None
        if reading is not None and reading.intent in ESCALATING:
            return reading
        if kind := small_talk(text):
            return Reading(intent=Intent(kind.value), by_pattern=True)
        return reading or Reading(intent=Intent.QUESTION)

    def _abstained_before(self, history: Sequence[Message]) -> bool:
        """The bot's last word in this conversation was that it could not help."""
        said = next((m for m in reversed(history) if m.sender.role is Role.BOT and not m.internal), None)
        return said is not None and said.text == self.smalltalk.reply(Kind.OFF_TOPIC)

    def _cannot_help(self, history: Sequence[Message], explanation: str, reason: EscalationReason,
                     **update: object) -> TurnOutcome:
        """An abstention; the second in a row goes to a person: the customer is not helped by a third."""
        if self._abstained_before(history):
            return TurnOutcome(decision=Decision.ESCALATED, reason=EscalationReason.FRUSTRATED,
                               explanation=f"the bot could not help twice in a row ({explanation})",
                               **update)  # type: ignore[arg-type]
        return self._off_topic(explanation, reason, **update)

    async def _respond(self, message: Message, history: Sequence[Message], times: StageTimes) -> TurnOutcome:
        text = message.text
        if only_files(message):
            return TurnOutcome(decision=Decision.ESCALATED, reason=EscalationReason.REQUESTED,
                               explanation="only attachments: the bot cannot read them", confidence=1.0)
        if message.asks_for_person or wants_human(text):
            return TurnOutcome(decision=Decision.ESCALATED, reason=EscalationReason.REQUESTED,
                               explanation="the customer asked for a person", confidence=1.0)
        # retrieval first: it encodes the question with the conversation's context in one encoder call, and
        # the reader and the categorizer then find the question's vector already computed
        with times("retrieve"):
            question = core_question(text)
            question = await self.speller.correct(question) if self.speller is not None else question
            earlier = exchanges(history)
            context = search_context(earlier)
            searched = self.redact(" ← ".join([question, *context]) if context else question)
            passages = await self.knowledge.search(question, k=self.top_k, context=context,
                                                   reply_passages=reply_passages(earlier) if context else [])
        with times("categorize"):
            reading = self.read(question)
        if reading.intent is Intent.PERSON or reading.intent is not Intent.QUESTION and reading.by_pattern:
            return self._as_read(reading, history)
        outcome = await self._answer(message, history, earlier, times, question, passages, searched)
        # the reader's word is taken where the help centre has no answer: a question about a war or an illness
        # reads like distress to it, and is still answered when the pages answer it in its own terms (an answer
        # that shares none of the message's words, "I've asked three times, this is ridiculous", answers nothing)
        if reading.intent is Intent.QUESTION or answers_from_the_help_centre(outcome) \
                and outcome.signals.get("answer_coverage", 0.0) > 0.0:
            return outcome
        return self._as_read(reading, history)

    def _as_read(self, reading: Reading, history: Sequence[Message]) -> TurnOutcome:
        """The turn as the reader read it: a request for a person or frustration to a person, off-topic chat,
        instructions, small talk."""
        read_as = {"reading_probability": round(reading.probability, 4)}
        if reading.intent is Intent.PERSON:
            return TurnOutcome(decision=Decision.ESCALATED, reason=EscalationReason.REQUESTED, confidence=1.0,
                               explanation=f"the customer asked for a person (p={reading.probability:.2f})",
                               signals=read_as)
        if reading.intent is Intent.FRUSTRATED:
            return TurnOutcome(decision=Decision.ESCALATED, reason=EscalationReason.FRUSTRATED, confidence=1.0,
                               explanation=f"the customer is frustrated (p={reading.probability:.2f})",
                               signals=read_as)
        if reading.intent is Intent.INSTRUCTIONS:
            return self._built_in(Kind.INSTRUCTIONS, "the message tries to instruct the bot")
        if reading.intent is Intent.OFF_TOPIC:
            return self._cannot_help(history, f"read as off-topic (p={reading.probability:.2f})",
                                     EscalationReason.OUT_OF_SCOPE, signals=read_as)
        kind = Kind(reading.intent.value)
        return self._built_in(kind, f"small talk: {kind.value}")

    async def _answer(self, message: Message, history: Sequence[Message], earlier: list[Exchange],
                      times: StageTimes, question: str, passages: list[Passage], searched: str) -> TurnOutcome:
        """The help centre's answer to the question, through the category's gate; `earlier` is the history as
        the answering side sees it (`exchanges`)."""
        with times("categorize"):
            if self.inline_categorizer:
                category, probability = self.categorize(question)
            else:  # unknown cost: off the event loop, so other turns' I/O goes on meanwhile
                category, probability = await asyncio.to_thread(self.categorize, question)
        if category in UNKNOWN_LABELS:
            return self._cannot_help(history, f"category {category} (p={probability:.2f})",
                                     EscalationReason.OUT_OF_SCOPE, category=category,
                                     signals={"category_probability": probability})
        with times("gate"):
            gates = await self.current_gates()
            phase = gates.phase_for(category, message.channel)
            thresholds = gates.thresholds_for(category)
        # the customer's own data, which no help-centre page holds; an unsure reading tries the pages first
        if category in self.actions and probability >= thresholds.min_category_probability:
            return TurnOutcome(decision=Decision.ESCALATED, reason=EscalationReason.GATED, category=category,
                               phase=phase, needs_action=category, confidence=probability,
                               explanation=f"the question needs action {category} (p={probability:.2f})",
                               signals={"category_probability": probability})
        best = passages[0].score if passages else 0.0
        usable = [p for p in passages if p.score >= thresholds.min_retrieval_score]
        if not usable and phase is not Phase.CATEGORIZE:
            return self._cannot_help(history, f"no passage reaches the retrieval floor (best {best:.2f})",
                                     EscalationReason.NO_ANSWER, category=category,
                                     phase=phase, searched=searched, signals={"retrieval_score": best})
        with times("compose"):
            private = [e.model_copy(update={"text": self.redact(e.text)}) for e in earlier]
            answering = ANSWERING.set(AnsweringContext(
                conversation_id=message.conversation_id, message_id=message.id, channel=message.channel,
                category=category, phase=phase, prose=gates.category(category).prose,
                min_grounding=thresholds.min_grounding))
            try:
                answer = await self.answerer.answer(self.redact(question), usable, private) if usable else None
            finally:
                ANSWERING.reset(answering)
        with times("gate"):
            return self._judge(answer, category, probability, phase, thresholds, best, searched)

    def _judge(self, answer: Answer | None, category: str, probability: float, phase: Phase,
               thresholds: Thresholds, best: float, searched: str) -> TurnOutcome:
        """The gate: whether the composed answer may go out as it is, as a draft, or not at all."""
        answered = answer is not None and bool(answer.text)
        signals = Signals(category_probability=probability, retrieval_score=best,
                          support=answer.support if answer and answered else 0.0,
                          grounding=answer.grounding if answer and answered else 0.0)
        confidence, short = combine(signals, thresholds, self.calibration)
        measured = TurnOutcome(decision=Decision.ESCALATED, category=category, phase=phase, confidence=confidence,
                               signals={**signals.model_dump(), **(answer.measures if answer else {})},
                               searched=searched, answered_by=answer.answered_by if answer else "",
                               model_calls=answer.model_calls if answer else [])
        if phase is Phase.CATEGORIZE:  # routed to people whatever the bot found; its answer is kept as shadow
            shadow = measured.model_copy(update={"text": answer.text, "citations": answer.citations}) \
                if answer and answered else measured
            return _as(shadow, Decision.ESCALATED, EscalationReason.GATED,
                       f"category {category} is in phase categorize")
        if answer is None or not answered:
            return _as(measured, Decision.ESCALATED, EscalationReason.NO_ANSWER,
                       "; ".join(short) or "no passage answers the question")
        if answer.grounding < thresholds.min_grounding:
            return _as(measured, Decision.ESCALATED, EscalationReason.NO_ANSWER,
                       f"the best passages do not address the question (grounding {answer.grounding:.2f} < "
                       f"{thresholds.min_grounding:.2f})")
        reply = answer.text + ("\n\n" + messages.uncovered_parts(answer.uncovered) if answer.uncovered else "")
        drafted = measured.model_copy(update={"text": reply, "citations": answer.citations})
        if answer.unsupported_sentences:
            return _as(drafted, Decision.DRAFTED, EscalationReason.DRAFT_REVIEW,
                       f"{len(answer.unsupported_sentences)} sentence(s) not supported by a passage")
        if answer.draft_only:
            return _as(drafted, Decision.DRAFTED, EscalationReason.DRAFT_REVIEW, answer.draft_only)
        if phase is Phase.DRAFT:
            return _as(drafted, Decision.DRAFTED, EscalationReason.DRAFT_REVIEW,
                       f"category {category} is in phase draft")
        if short:
            return _as(drafted, Decision.ESCALATED, EscalationReason.LOW_CONFIDENCE, "; ".join(short))
        return _as(drafted, Decision.ANSWERED, None, "all signals above thresholds")


def answers_from_the_help_centre(outcome: TurnOutcome) -> bool:
    """An answer or a draft composed from the pages, not a built-in reply or a handoff."""
    return outcome.decision is not Decision.ESCALATED and bool(outcome.text) and not outcome.handled_as


def only_files(message: Message) -> bool:
    """Files without words: nothing for the bot to answer, so a person looks at them."""
    return bool(message.attachments) and not message.text.strip()


def _as(outcome: TurnOutcome, decision: Decision, reason: EscalationReason | None, explanation: str
        ) -> TurnOutcome:
    return outcome.model_copy(update={"decision": decision, "reason": reason, "explanation": explanation})
