"""A conversation's way through an action: the fields asked over several turns, the confirmation a write
needs, the call, and what its result may do under the category's phase.

The form lives in the conversation's slots (`FORM_SLOT`), so whichever process receives the next message
continues it. Every step returns a `TurnOutcome`, so an action's turn takes the same path to the customer,
the queue and the journal as any other turn.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from bot import messages
from bot.action_form import check_value, next_step
from bot.actions import ActionResult, ActionRunner, ActionSpec, Identity
from bot.types import ActionCall, Decision, EscalationReason, Phase, TurnOutcome

FORM_SLOT = "action_form"
ASKS_PER_FIELD = 2  # a value refused twice goes to a person: a third "that doesn't look right" helps nobody

_LEAVE = re.compile(r"^\W*(never ?mind|nevermind|forget it|cancel|stop|skip it|no thanks|nothing)\W*$", re.I)
_YES = re.compile(r"^\W*(y|yes|yeah|yep|sure|ok|okay|please do|go ahead|do it|confirm(ed)?)\W*$", re.I)
_NO = re.compile(r"^\W*(n|no|nope|don'?t|do not|stop|cancel)\W*$", re.I)
_VALUE_WORDS = 6  # longer than this, a message that is not a valid value is a new question, not a typo


class Form(BaseModel):
    """An action under way in one conversation."""

    action: str
    collected: dict[str, Any] = Field(default_factory=dict)
    asking: str | None = None  # the field the last prompt asked for
    refusals: int = 0  # invalid values given for `asking`
    confirming: dict[str, Any] | None = None  # the values of a write awaiting the customer's yes


class ActionFlow:
    """Starts and continues actions. `render` fills a template (a confirm question) with values."""

    def __init__(self, actions: Mapping[str, ActionSpec], runner: ActionRunner,
                 render: Callable[[str, Mapping[str, Any]], str], redact: Callable[[str], str]) -> None:
        self.actions = dict(actions)
        self.runner = runner
        self.render = render
        self.redact = redact

    def knows(self, name: str) -> bool:
        return name in self.actions

    async def start(self, name: str, text: str, identity: Identity, outcome: TurnOutcome
                    ) -> tuple[TurnOutcome, Form | None]:
        """The categorizer sent the turn `text` to action `name`; `outcome` carries its category and phase.
        Values the message already holds ("has order 1001 shipped?") are not asked again."""
        form = Form(action=name, collected=mentioned(self.actions[name], text))
        return await self._advance(form, identity, outcome)

    async def resume(self, form: Form, text: str, identity: Identity, base: TurnOutcome
                     ) -> tuple[TurnOutcome | None, Form | None]:
        """The customer's next message inside a form. `None` as the outcome: the message is not part of the
        form (a new question), which is left, and the turn goes the usual way."""
        spec = self.actions.get(form.action)
        if spec is None:  # the action was removed from the file since the form began
            return None, None
        if form.confirming is not None:
            if _YES.match(text):
                return await self._run(spec, form.confirming, identity, base), None
            if _NO.match(text) or _LEAVE.match(text):
                return _said(base, messages.action_cancelled(), "action_cancelled"), None
            return None, None
        if _LEAVE.match(text):
            return _said(base, messages.action_cancelled(), "action_cancelled"), None
        field = spec.field(form.asking) if form.asking else None
        if field is None:
            return None, None
        checked = check_value(field, text)
        if not checked.ok:
            if len(text.split()) > _VALUE_WORDS or text.rstrip().endswith("?"):
                return None, None
            form.refusals += 1
            if form.refusals >= ASKS_PER_FIELD:
                return _handoff(base, EscalationReason.NO_ANSWER,
                                f"the customer's {field.name} was refused {form.refusals} times"), None
            prompt = f"{messages.action_value_refused(checked.error or '')} {field.prompt}"
            return _said(base, prompt, "action_ask"), form
        form.collected[field.name] = checked.value
        form.asking, form.refusals = None, 0
        return await self._advance(form, identity, base)

    async def _advance(self, form: Form, identity: Identity, base: TurnOutcome
                       ) -> tuple[TurnOutcome, Form | None]:
        spec = self.actions[form.action]
        step = next_step(spec, identity, form.collected)
        if step.kind == "sign_in":
            return _said(base, messages.action_needs_sign_in(), "action_sign_in"), None
        if step.kind == "ask" and step.field is not None:
            form.asking = step.field.name
            return _said(base, step.field.prompt or step.field.name, "action_ask"), form
        if spec.writes:
            form.confirming = dict(step.values)
            question = self.render(spec.confirm or "", step.values)
            return _said(base, f"{question} {messages.action_confirm_hint()}", "action_confirm"), form
        return await self._run(spec, step.values, identity, base), None

    async def call(self, spec: ActionSpec, values: Mapping[str, Any], identity: Identity
                   ) -> tuple[ActionResult, ActionCall]:
        """Carry out the action: its result, and the call as agents see it (personal data labelled)."""
        result = await self.runner.run(spec, values, identity)
        return result, ActionCall(name=spec.name, inputs={k: self.redact(str(v)) for k, v in values.items()},
                                  result=result.redacted(self.redact), values=dict(values))

    async def _run(self, spec: ActionSpec, values: Mapping[str, Any], identity: Identity,
                   base: TurnOutcome) -> TurnOutcome:
        result, call = await self.call(spec, values, identity)
        decided = base.model_copy(update={"action": call, "confidence": 1.0 if result.ok else 0.0})
        if result.status == "refused":
            return _said(decided, messages.action_needs_sign_in(), "action_sign_in")
        if not result.reply or result.status == "failed":
            return _handoff(decided, EscalationReason.ACTION_FAILED,
                            f"action {spec.name} {result.status}: {result.error or result.http_status}")
        return gated(decided, result)


def mentioned(spec: ActionSpec, text: str) -> dict[str, Any]:
    """Values of the fields the customer may give (never identity fields) found in their words: the first
    stretch matching a field's pattern, standing as a word of its own."""
    found: dict[str, Any] = {}
    for field in spec.fields:
        if field.source == "identity" or not field.pattern:
            continue
        match = re.search(rf"(?<![\w-])(?:{field.pattern})(?![\w-])", text)
        if match and (checked := check_value(field, match.group(0))).ok:
            found[field.name] = checked.value
    return found


def gated(outcome: TurnOutcome, result: ActionResult) -> TurnOutcome:
    """The call's reply under the category's phase: to the agent only, as a draft, or sent."""
    reply = result.reply or ""
    if outcome.phase is Phase.CATEGORIZE:
        return outcome.model_copy(update={"decision": Decision.ESCALATED, "reason": EscalationReason.GATED,
                                          "text": reply, "explanation": f"category {outcome.category} is in "
                                          f"phase categorize; the action's result is attached"})
    if outcome.phase is Phase.DRAFT:
        return outcome.model_copy(update={"decision": Decision.DRAFTED, "reason": EscalationReason.DRAFT_REVIEW,
                                          "text": reply, "explanation": f"category {outcome.category} is in "
                                          f"phase draft"})
    return outcome.model_copy(update={"decision": Decision.ANSWERED, "reason": None, "text": reply,
                                      "explanation": f"action {result.status}"})


def _said(outcome: TurnOutcome, text: str, handled_as: str) -> TurnOutcome:
    """A line of the form itself (a question, a confirmation): said by the bot whatever the phase, since it
    reveals nothing the customer did not give."""
    return outcome.model_copy(update={"decision": Decision.ANSWERED, "reason": None, "text": text,
                                      "handled_as": handled_as, "confidence": 1.0,
                                      "explanation": f"action {outcome.category}: {handled_as}"})


def _handoff(outcome: TurnOutcome, reason: EscalationReason, explanation: str) -> TurnOutcome:
    return outcome.model_copy(update={"decision": Decision.ESCALATED, "reason": reason, "text": "",
                                      "explanation": explanation})
