"""What the bot would say to one customer turn, and whether it may say it (the phase gate)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.confidence import Calibration, Signals, combine
from bot.gates import GENERAL, UNKNOWN_LABELS, GateConfig, with_overrides
from bot.store import PhaseOverrides
from bot.types import Decision, EscalationReason, Message, Phase, TurnOutcome
from knowledge.base import Answerer, Categorizer, KnowledgeBase

_HUMAN_REQUEST = re.compile(
    r"\b(talk|speak|chat|connect|transfer|put)\b.{0,30}\b(human|person|agent|someone|representative|operator|"
    r"real person|somebody|staff)\b|\b(human|live) (agent|support|person)\b|\brepresentative\b|\bhuman please\b",
    re.IGNORECASE,
)


def wants_human(text: str) -> bool:
    return bool(_HUMAN_REQUEST.search(text))


class Responder:
    """Runs the policies in order: explicit request, category, gate, retrieval, answer, confidence."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        answerer: Answerer,
        gates: GateConfig,
        categorizer: Categorizer | None = None,
        top_k: int = 4,
        overrides: PhaseOverrides | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.answerer = answerer
        self.gates = gates  # as configured (the categories file)
        self.categorizer = categorizer
        self.top_k = top_k
        self.overrides = overrides
        self.calibration = calibration
        self._current: tuple[dict[str, Phase], GateConfig] = ({}, gates)

    async def current_gates(self) -> GateConfig:
        """The configured gates with the phases changed since start, rebuilt only when those change."""
        if self.overrides is None:
            return self.gates
        changed = await self.overrides.load()
        if changed != self._current[0]:
            self._current = (changed, with_overrides(self.gates, changed))
        return self._current[1]

    def categorize(self, text: str) -> tuple[str, float]:
        if self.categorizer is None:
            return GENERAL, 1.0
        prediction = self.categorizer.predict([text])[0]
        return prediction.label, prediction.probability

    async def respond(self, message: Message, history: Sequence[Message] = ()) -> TurnOutcome:
        text = message.text
        if wants_human(text):
            return TurnOutcome(decision=Decision.ESCALATED, reason=EscalationReason.REQUESTED,
                               explanation="the customer asked for a person", confidence=1.0)
        category, probability = self.categorize(text)
        if category in UNKNOWN_LABELS:
            return TurnOutcome(
                decision=Decision.ESCALATED, reason=EscalationReason.OUT_OF_SCOPE, category=category,
                explanation=f"category {category} (p={probability:.2f})",
                signals={"category_probability": probability},
            )
        gates = await self.current_gates()
        phase = gates.phase_for(category, message.channel)
        thresholds = gates.thresholds_for(category)
        passages = await self.knowledge.search(text, k=self.top_k)
        best = passages[0].score if passages else 0.0
        usable = [p for p in passages if p.score >= thresholds.min_retrieval_score]
        answer = await self.answerer.answer(text, usable) if usable else None
        signals = Signals(category_probability=probability, retrieval_score=best,
                          support=answer.support if answer and answer.text else 0.0)
        confidence, short = combine(signals, thresholds, self.calibration)
        measured = TurnOutcome(decision=Decision.ESCALATED, category=category, phase=phase, confidence=confidence,
                               signals=signals.model_dump())
        if phase is Phase.CATEGORIZE:  # routed to people whatever the bot found; its answer is kept as shadow
            shadow = measured.model_copy(update={"text": answer.text, "citations": answer.citations}) \
                if answer and answer.text else measured
            return _as(shadow, Decision.ESCALATED, EscalationReason.GATED,
                       f"category {category} is in phase categorize")
        if answer is None or not answer.text:
            return _as(measured, Decision.ESCALATED, EscalationReason.NO_ANSWER,
                       "; ".join(short) or "no passage answers the question")
        drafted = measured.model_copy(update={"text": answer.text, "citations": answer.citations})
        if answer.unsupported_sentences:
            return _as(drafted, Decision.DRAFTED, EscalationReason.DRAFT_REVIEW,
                       f"{len(answer.unsupported_sentences)} sentence(s) not supported by a passage")
        if phase is Phase.DRAFT:
            return _as(drafted, Decision.DRAFTED, EscalationReason.DRAFT_REVIEW,
                       f"category {category} is in phase draft")
        if short:
            return _as(drafted, Decision.ESCALATED, EscalationReason.LOW_CONFIDENCE, "; ".join(short))
        return _as(drafted, Decision.ANSWERED, None, "all signals above thresholds")


def _as(outcome: TurnOutcome, decision: Decision, reason: EscalationReason | None, explanation: str
        ) -> TurnOutcome:
    return outcome.model_copy(update={"decision": decision, "reason": reason, "explanation": explanation})
