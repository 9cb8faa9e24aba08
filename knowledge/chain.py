"""The answerer a deployment with language models runs: the offline composer first, models where they are
worth their price, one after another, and the composer again when none of them answers.

Routing by value: the composer is free and answers wherever it is confident; a model is asked only where it
abstains, where the category asks for prose, or where the deployment routes every turn to a model. Past the
monthly budget a model still writes, but only drafts for agents. Each model has its own timeout; one that
fails, times out or answers malformed is skipped for a cool-down (a circuit breaker), and the next one is
asked. Every call is counted (tokens, seconds, cost) on the answer, so the turn, the journal and analytics
carry it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Literal, Protocol

from bot.ports import ANSWERING, Answer, Answerer, AnsweringContext, Exchange, Passage
from bot.streaming import stream_sentence, stream_withdrawn
from bot.types import ModelCall, Phase
from knowledge.llm import Composed, LangChainAnswerer, MalformedAnswer
from knowledge.providers import ModelSpec

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any]], Awaitable[None]]
OnCall = Callable[[ModelCall, AnsweringContext], None]
Route = Literal["value", "always"]
OVER_BUDGET = "the monthly model budget is spent: a model's answers reach customers only through an agent"


class Breaker(Protocol):
    def allow(self, host: str) -> bool: ...

    def success(self, host: str) -> None: ...

    def failure(self, host: str) -> None: ...


class Budget(Protocol):
    async def exhausted(self) -> bool:
        """The month's spending reached the deployment's budget."""
        ...

    async def spend(self, cost: float) -> None: ...


@dataclass
class ChainModel:
    spec: ModelSpec
    answerer: LangChainAnswerer


class ModelChain:
    """`Answerer`: composer, then the configured models in order, then the composer's own answer."""

    def __init__(self, composer: Answerer, models: Sequence[ChainModel], *, breaker: Breaker,
                 budget: Budget | None = None, publish: Publish | None = None,
                 stream_channels: frozenset[str] = frozenset({"web"}), route: Route = "value",
                 on_call: OnCall | None = None) -> None:
        self.composer = composer
        self.models = list(models)
        self.breaker = breaker
        self.budget = budget
        self.publish = publish  # where streamed sentences go (the conversation's live events); None: no streaming
        self.stream_channels = stream_channels
        self.route = route
        self.on_call = on_call

    def connect(self, *, budget: Budget | None, publish: Publish | None) -> None:
        """The deployment's budget and live events, known once the store is built."""
        self.budget = self.budget or budget
        self.publish = self.publish or publish

    async def answer(self, question: str, passages: list[Passage], history: Sequence[Exchange] = ()) -> Answer:
        context = ANSWERING.get()
        own = (await self.composer.answer(question, passages, history)).model_copy(update={"answered_by": "composer"})
        if not self.worth_a_model(own, context):
            return own
        draft_only = OVER_BUDGET if self.budget is not None and await self.budget.exhausted() else ""
        stream = (self.publish is not None and not draft_only and context.phase is Phase.FULL
                  and context.channel in self.stream_channels and bool(context.conversation_id))
        calls: list[ModelCall] = []
        for model in self.models:
            if not self.breaker.allow(model.spec.name):
                continue  # failed lately: its cool-down is not over
            composed = await self._ask(model, question, passages, history, context, stream, calls)
            if composed is None:
                continue
            still_shown = 0 if composed.withdrawn else composed.shown
            return composed.answer.model_copy(update={
                "answered_by": model.spec.name, "model_calls": calls, "draft_only": draft_only,
                "measures": {**composed.answer.measures, "streamed_sentences": float(still_shown)}})
        return own.model_copy(update={"model_calls": calls})  # no model answered: the composer's word stands

    def worth_a_model(self, own: Answer, context: AnsweringContext) -> bool:
        """Where a paid model adds something: never for a category only routed to people (its answer is never
        sent); else where the composer abstains or is unsure, where the category wants prose, or always."""
        if not self.models or context.phase is Phase.CATEGORIZE:
            return False
        if self.route == "always" or context.prose:
            return True
        return not own.text or own.grounding < context.min_grounding or bool(own.unsupported_sentences)

    async def _ask(self, model: ChainModel, question: str, passages: list[Passage], history: Sequence[Exchange],
                   context: AnsweringContext, stream: bool, calls: list[ModelCall]) -> Composed | None:
        """One model's answer, or None when it failed; its call is appended to `calls` either way."""
        shown = 0

        async def show(sentence: str) -> None:
            nonlocal shown
            assert self.publish is not None
            await self.publish(context.conversation_id, stream_sentence(context.message_id, shown, sentence))
            shown += 1

        started = perf_counter()
        composed: Composed | None = None
        try:
            async with asyncio.timeout(model.spec.timeout):
                composed = await model.answerer.compose(question, passages, history, show if stream else None)
            outcome = "malformed" if composed.malformed else "withdrawn" if composed.withdrawn \
                else "ok" if composed.answer.text else "no_answer"
        except MalformedAnswer:
            outcome = "malformed"
        except Exception as error:  # the provider's client's own timeout (APITimeoutError ...) counts as one
            timed_out = isinstance(error, TimeoutError) or "timeout" in type(error).__name__.lower()
            outcome = "timeout" if timed_out else "error"
            if not timed_out:
                log.warning("model %s failed", model.spec.name, exc_info=True)
        failed = outcome in ("malformed", "timeout", "error")
        if failed:
            self.breaker.failure(model.spec.name)
        else:
            self.breaker.success(model.spec.name)
        if shown and (failed or outcome == "withdrawn") and self.publish is not None:
            await self.publish(context.conversation_id, stream_withdrawn(context.message_id))
        tokens_in, tokens_out = (composed.input_tokens, composed.output_tokens) if composed else (0, 0)
        call = ModelCall(model=model.spec.name, outcome=outcome, input_tokens=tokens_in, output_tokens=tokens_out,
                         seconds=round(perf_counter() - started, 4), cost=model.spec.cost(tokens_in, tokens_out))
        calls.append(call)
        if self.budget is not None and call.cost > 0:
            await self.budget.spend(call.cost)
        if self.on_call is not None:
            self.on_call(call, context)
        return None if failed else composed
