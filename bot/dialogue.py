"""The dialogue manager: one path for every message, whoever sends it and through whatever channel."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

from pydantic import BaseModel, Field

from bot import messages
from bot.action_flow import FORM_SLOT, ActionFlow, Form
from bot.action_log import remember as remember_call
from bot.actions import Identity
from bot.errors import AlreadyRated, ConversationNotFound, HandoffNotFound
from bot.handoff import Step, bot_may_speak, transition
from bot.hours import BusinessHours
from bot.observer import Observer, StageTimes, Unobserved, in_turn
from bot.responder import HISTORY_MESSAGES, Responder, only_files
from bot.runner import TaskRunner
from bot.store import ConversationStore, HandoffQueue, Journal, Receipt
from bot.streaming import stream_withdrawn
from bot.types import (
    Citation,
    ConversationState,
    Decision,
    Draft,
    EscalationReason,
    Handoff,
    HandoffStatus,
    Message,
    Owner,
    Participant,
    Role,
    TurnOutcome,
    new_id,
    now,
)

log = logging.getLogger(__name__)

BOT = Participant(role=Role.BOT, id="bot", name="Assistant")
SYSTEM = Participant(role=Role.SYSTEM, id="system", name="Support")

ExpectedWait = Callable[[str], Awaitable[int | None]]
REPLY_TO = "reply_to"  # in a reply's `raw`: the id of the message it answers


class Turn(BaseModel):
    """What one inbound message produced."""

    duplicate: bool = False
    outcome: TurnOutcome | None = None
    replies: list[Message] = Field(default_factory=list)
    handoff_id: str | None = None
    owner: Owner | None = None  # who reads the next message, as this turn left the conversation


def handoff_id_for(conversation_id: str, message_id: str) -> str:
    """Stable id: the same turn retried anywhere yields the same handoff, never a second one."""
    return hashlib.sha256(f"{conversation_id}:{message_id}".encode()).hexdigest()[:24]


class DialogueManager:
    def __init__(
        self,
        store: ConversationStore,
        queue: HandoffQueue,
        responder: Responder,
        runner: TaskRunner,
        journal: Journal,
        expected_wait: ExpectedWait | None = None,
        push_channels: frozenset[str] = frozenset(),
        hours: BusinessHours | None = None,
        replies_in_turn: frozenset[str] = frozenset(),
        observer: Observer | None = None,
        actions: ActionFlow | None = None,
    ) -> None:
        self.store = store
        self.queue = queue
        self.responder = responder
        self.runner = runner
        self.journal = journal
        self.expected_wait = expected_wait
        self.push_channels = push_channels
        self.hours = hours
        # channels whose connector returns a turn's replies in its own response (Rasa's action server)
        self.replies_in_turn = replies_in_turn
        self.observer = observer or Unobserved()
        self.actions = actions  # calls to the company's systems for questions about the customer's own data

    async def start(self, channel: str, customer: Participant, *, conversation_id: str | None = None,
                    token_hash: str = "", identity: Identity | None = None) -> ConversationState:
        """Create the conversation, or return it when a connector asks again for the same id. `identity`: who
        the customer is, as a signature the connector checked vouches (none: anonymous)."""
        if conversation_id and (existing := await self.store.load(conversation_id)):
            return existing
        state = ConversationState(id=conversation_id or new_id(), channel=channel, customer=customer,
                                  token_hash=token_hash, identity=identity or Identity())
        await self.store.create(state)
        return state

    async def identify(self, conversation_id: str, identity: Identity) -> None:
        """The customer proved who they are after the conversation began (signed in on the site)."""
        async with self.store.lock(conversation_id):
            state = await self.store.load(conversation_id)
            if state is None:
                raise ConversationNotFound(conversation_id)
            if identity.verified or not state.identity.verified:  # an anonymous proof never signs anyone out
                state.identity = identity
                await self.store.save(state)

    async def handle(self, message: Message) -> Turn:
        """One turn per message id, exactly: a delivery whose turn never finished (its process died, the store
        failed) is answered by the next delivery of the same id; one that was answered is a duplicate."""
        with in_turn(new_id(), message.conversation_id):
            started = perf_counter()
            times = StageTimes()
            async with self.store.lock(message.conversation_id):
                turn = await self._handle_locked(message, times)
            if turn.outcome is not None:  # a bot turn (not an agent's message, not one for the agent)
                times.report(self.observer)
                self.observer.turn(message.channel, turn.outcome.decision.value, perf_counter() - started)
            return turn

    async def _handle_locked(self, message: Message, times: StageTimes) -> Turn:
        with times("store"):
            receipt, recent, state = await self.store.receive(message, recent=HISTORY_MESSAGES + 1)
        if receipt is Receipt.ANSWERED:
            return Turn(duplicate=True, owner=state.owner)
        stored = [entry.message for entry in recent]
        if receipt is Receipt.UNANSWERED and _replied_to(message, stored):  # the earlier turn got as far as replying
            return await self._answered(message, Turn(duplicate=True, owner=state.owner))
        turn = await self._turn(state, message, times, [m for m in stored if m.id != message.id])
        turn.owner = state.owner  # the turn changed `state` as it changed the stored conversation
        if _replied_to(message, turn.replies):
            return turn  # the reply's commit marked the message answered
        return await self._answered(message, turn)

    async def _answered(self, message: Message, turn: Turn) -> Turn:
        await self.store.mark_answered(message.conversation_id, message.id)
        return turn

    async def _turn(self, state: ConversationState, message: Message, times: StageTimes,
                    earlier: list[Message]) -> Turn:
        """`earlier`: the messages before this one, as many as the store returned with its receipt."""
        if message.sender.role is Role.AGENT:
            return await self._from_agent(state, message)
        history = earlier[-HISTORY_MESSAGES:]
        waiting = None
        if not bot_may_speak(state.owner):
            await self.queue.notify({"type": "customer_message", "conversation_id": state.id,
                                     "handoff_id": state.handoff_id})
            waiting = await self._waiting_handoff(state)
            if waiting is None:  # a person has the conversation: only they answer
                return Turn()
        try:
            outcome = await self._respond(state, message, history)
        except Exception:  # the customer is never left unanswered: a failure becomes a handoff
            log.exception("bot path failed for conversation %s", state.id)
            outcome = TurnOutcome(decision=Decision.ESCALATED, reason=EscalationReason.ERROR,
                                  explanation="the bot path raised an error")
        if outcome.action is not None:  # agents see the call, and may run it again
            remember_call(state.slots, outcome.action)
        if outcome.decision is not Decision.ANSWERED and outcome.signals.get("streamed_sentences"):
            # the customer watched an answer being written that the gate then held back: it is taken back
            await self.store.publish_event(state.id, stream_withdrawn(message.id))
        with times("store"):
            if waiting is None:
                turn = await self._apply(state, message, outcome)
            else:
                turn = await self._while_waiting(state, message, outcome, waiting)
                if turn.outcome is None:
                    return turn
                outcome = turn.outcome
            await self.journal.record("turn", {
                "conversation_id": state.id, "message_id": message.id, "channel": state.channel,
                "question": self.responder.redact(message.text), "at": now(), **outcome.model_dump(mode="json")})
        return turn

    async def _respond(self, state: ConversationState, message: Message, history: Sequence[Message]
                       ) -> TurnOutcome:
        """The bot's outcome: an action's form under way takes the message if it belongs to it; a question that
        needs an action starts one; anything else is the responder's."""
        form = Form.model_validate(state.slots[FORM_SLOT]) if FORM_SLOT in state.slots else None
        state.slots.pop(FORM_SLOT, None)  # kept below only while the form goes on
        if form is not None and self.actions is not None:
            gates = await self.responder.current_gates()
            base = TurnOutcome(decision=Decision.ESCALATED, category=form.action,
                               phase=gates.phase_for(form.action, state.channel))
            resumed, form = await self.actions.resume(form, message.text, state.identity, base)
            if form is not None:
                state.slots[FORM_SLOT] = form.model_dump(mode="json")
            if resumed is not None:
                return resumed
        outcome = await self.responder.respond(message, history)
        if outcome.needs_action and self.actions is not None and self.actions.knows(outcome.needs_action):
            outcome, form = await self.actions.start(outcome.needs_action, message.text, state.identity, outcome)
            if form is not None:
                state.slots[FORM_SLOT] = form.model_dump(mode="json")
        return outcome

    async def _apply(self, state: ConversationState, message: Message, outcome: TurnOutcome) -> Turn:
        state.category = outcome.category
        state.phase = outcome.phase
        turn = Turn(outcome=outcome)
        push = state.channel not in self.replies_in_turn
        reply_to = {REPLY_TO: message.id}
        if outcome.decision is Decision.ANSWERED:
            reply = self._message(state, outcome.text, BOT, citations=outcome.citations, raw=reply_to)
            turn.replies.append(await self._commit(state, reply, push))
            return turn
        draft = None
        if outcome.text:
            draft = Draft(conversation_id=state.id, question=message.text, text=outcome.text,
                          citations=outcome.citations, confidence=outcome.confidence, category=outcome.category)
        ack = await self._ack_text(outcome, only_files(message)) if outcome.decision is Decision.ESCALATED else None
        turn.handoff_id = await self._escalate(state, message, outcome, draft)
        state.updated_at = now()
        if ack is not None:
            ack_message = self._message(state, ack, SYSTEM, raw={**reply_to, "event": "escalated"})
            turn.replies.append(await self._commit(state, ack_message, push))
        else:
            await self.store.save(state)
            await self.store.publish_event(state.id, {"type": "status", "status": "reviewing"})
        return turn

    async def _waiting_handoff(self, state: ConversationState) -> Handoff | None:
        """The handoff still waiting in the queue (no agent has claimed it), if the conversation has one."""
        if state.owner is not Owner.PENDING_HUMAN or not state.handoff_id:
            return None
        handoff = await self.queue.get(state.handoff_id)
        return handoff if handoff is not None and handoff.status is HandoffStatus.QUEUED else None

    async def _while_waiting(self, state: ConversationState, message: Message, outcome: TurnOutcome,
                             handoff: Handoff) -> Turn:
        """A message while a draft or a handoff waits never vanishes: the bot answers what the question's phase
        lets it answer; anything else joins the waiting handoff, moved to the question's team when that is
        another one, and put in front of a person when the customer asks for one. Small talk ("thanks",
        "hello?") is for the person, who sees it in the transcript; the bot does not chat over the wait."""
        of_an_action = self.actions is not None and self.actions.knows(outcome.category)
        if outcome.decision is Decision.ANSWERED and outcome.handled_as and not of_an_action:
            return Turn()  # small talk; an action's own line (sign in, which order?) is said
        push = state.channel not in self.replies_in_turn
        # "escalated": the customer still waits for a person, whoever speaks now (the widget reads it so)
        raw = {REPLY_TO: message.id, "event": "escalated"}
        turn = Turn(outcome=outcome, handoff_id=handoff.id)
        if outcome.decision is Decision.ANSWERED:
            reply = self._message(state, outcome.text, BOT, citations=outcome.citations, raw=raw)
            turn.replies.append(await self._commit(state, reply, push))
            return turn
        gates = self.responder.gates
        team = gates.queue_for(outcome.category)
        moves = outcome.category in {c.name for c in gates.categories} and team != handoff.queue
        for_person = outcome.reason in (EscalationReason.REQUESTED, EscalationReason.FRUSTRATED)

        if outcome.decision is Decision.DRAFTED:  # one draft waits at a time: the person answers this one
            turn.outcome = outcome = outcome.model_copy(update={
                "decision": Decision.ESCALATED, "explanation": f"{outcome.explanation}; a draft already waits"})

        def route(current: Handoff) -> bool:
            if current.status is not HandoffStatus.QUEUED:  # claimed meanwhile: the claimant sees the message
                return False
            before = (current.category, current.queue, current.reason)
            if moves:
                current.category, current.queue, current.question = outcome.category, team, message.text
                current.priority = max(current.priority, gates.category(outcome.category).priority)
            if moves or for_person:
                current.reason, current.explanation = outcome.reason or current.reason, outcome.explanation
            return (current.category, current.queue, current.reason) != before

        try:
            routed, changed = await self.queue.change(handoff.id, route)
        except HandoffNotFound:
            routed, changed = handoff, False
        if changed:
            if moves:
                state.category, state.phase = outcome.category, outcome.phase
            await self.queue.notify({"type": "handoff_changed", "conversation_id": state.id,
                                     "handoff_id": routed.id})
        # a new team, or a person instead of a draft's review: the customer hears what happens now
        news = changed and (moves or handoff.reason is EscalationReason.DRAFT_REVIEW)
        if news:
            ack = self._message(state, await self._ack_text(outcome, only_files(message)), SYSTEM, raw=raw)
        else:  # nothing changes hands: no event
            ack = self._message(state, messages.seen_while_waiting(), SYSTEM, raw={REPLY_TO: message.id})
        turn.replies.append(await self._commit(state, ack, push))
        return turn

    async def _commit(self, state: ConversationState, reply: Message, push: bool) -> Message:
        """The turn's state, its reply and the message marked answered in one step: a stored reply means the
        whole turn took effect."""
        state.updated_at = now()
        await self.store.commit(state, reply, answered=reply.raw[REPLY_TO])
        if push:
            self._push(state, reply)
        return reply

    async def _escalate(self, state: ConversationState, message: Message, outcome: TurnOutcome,
                        draft: Draft | None) -> str:
        state.owner = transition(state.owner, Step.ESCALATE)
        if outcome.decision is Decision.DRAFTED:
            state.pending_draft = draft
        if state.handoff_id:
            existing = await self.queue.get(state.handoff_id)
            if existing and existing.status.value != "resolved":
                return existing.id
        handoff = Handoff(
            id=handoff_id_for(state.id, message.id), conversation_id=state.id, channel=state.channel,
            reason=outcome.reason or EscalationReason.LOW_CONFIDENCE, category=outcome.category,
            queue=self.responder.gates.queue_for(outcome.category),
            priority=self.responder.gates.category(outcome.category).priority,
            question=message.text, explanation=outcome.explanation,
            draft=draft if outcome.decision is Decision.DRAFTED else None,
            shadow=outcome if outcome.text else None,
        )
        state.handoff_id = handoff.id
        # queued here, in the turn, so an agent may claim or resolve it before a worker has run; the job
        # only tells the agents (and opens it, for a job queued by an earlier version)
        await self.queue.open(handoff)
        self.runner.start("open_handoff", {"handoff": handoff.model_dump(mode="json")})
        self.observer.handoff("opened")
        return handoff.id

    async def _ack_text(self, outcome: TurnOutcome, files_only: bool = False) -> str:
        at = datetime.now(UTC)
        closed = self.hours is not None and not self.hours.is_open(at)
        wait = await self.expected_wait(outcome.category) if self.expected_wait and not closed else None
        if outcome.reason is EscalationReason.ERROR:
            text = messages.error_ack()
        elif files_only:
            text = messages.attachments_only_ack(wait)
        elif outcome.reason is EscalationReason.FRUSTRATED:
            text = messages.frustrated_ack(wait)
        elif outcome.reason is EscalationReason.GATED:
            text = messages.categorized_ack(outcome.category, wait)
        elif outcome.reason in (EscalationReason.NO_ANSWER, EscalationReason.LOW_CONFIDENCE,
                                EscalationReason.OUT_OF_SCOPE):
            text = messages.no_answer_ack(wait)
        else:
            text = messages.handoff_ack(wait)
        if closed and self.hours is not None:
            text += " " + messages.out_of_hours(self.hours.describe_next_opening(at))
        return text

    async def _from_agent(self, state: ConversationState, message: Message) -> Turn:
        """An agent's reply takes the conversation (if the bot or the queue still had it) and reaches the customer."""
        handoff = await self.queue.get(state.handoff_id) if state.handoff_id else None
        if handoff is not None and state.slots.get("human_replied") != handoff.id:
            await self._record_first_human_reply(state, handoff, message)
        state.owner = transition(state.owner, Step.AGENT_REPLY)
        state.agent = message.sender.id
        state.pending_draft = None
        self._push(state, message)
        await self.store.save(state)
        return Turn(replies=[message])

    async def _record_first_human_reply(self, state: ConversationState, handoff: Handoff, message: Message) -> None:
        """The wait customers actually feel, and how close the bot's unsent answer was to the human one."""
        state.slots["human_replied"] = handoff.id
        await self.journal.record("first_human_reply", {
            "conversation_id": state.id, "handoff_id": handoff.id, "category": handoff.category,
            "seconds": round(message.created_at - handoff.created_at, 3), "at": message.created_at})
        if handoff.shadow and handoff.shadow.text:
            await self.journal.record("shadow", shadow_comparison(handoff, message.text))

    async def record_feedback(self, conversation_id: str, *, rating: int | None = None,
                              resolved: bool | None = None) -> None:
        """CSAT (1-5) once per conversation and handoff, and the customer's word on whether it resolved it."""
        if rating is not None:
            async with self.store.lock(conversation_id):
                state = await self.store.load(conversation_id)
                if state is None:
                    raise ConversationNotFound(conversation_id)
                rated_for = state.handoff_id or "conversation"
                if state.slots.get("csat_for") == rated_for:
                    raise AlreadyRated(conversation_id)
                state.slots["csat_for"] = rated_for
                await self.store.save(state)
            await self.journal.record("csat", {"conversation_id": conversation_id, "rating": rating, "at": now()})
        if resolved is not None:
            await self.journal.record("confirmation", {"conversation_id": conversation_id, "resolved": resolved,
                                                       "at": now()})

    async def say(self, state: ConversationState, text: str, sender: Participant, *,
                  citations: Sequence[Citation] = (), internal: bool = False, push: bool = True,
                  event: str = "") -> Message:
        """Store and deliver a support-side message; `event` names the change of hands it announces, so a
        channel that reloads its history can tell who the customer is talking to."""
        reply = self._message(state, text, sender, citations=citations, internal=internal,
                              raw={"event": event} if event else None)
        await self.store.append(reply)
        if push:
            self._push(state, reply)
        return reply

    @staticmethod
    def _message(state: ConversationState, text: str, sender: Participant, *, citations: Sequence[Citation] = (),
                 internal: bool = False, raw: dict[str, Any] | None = None) -> Message:
        return Message(conversation_id=state.id, channel=state.channel, sender=sender, text=text,
                       citations=tuple(citations), internal=internal, raw=raw or {})

    def _push(self, state: ConversationState, message: Message) -> None:
        """Channels that cannot pull get each outgoing message through the `deliver` job."""
        if state.channel in self.push_channels and not message.internal:
            self.runner.start("deliver", {"message": message.model_dump(mode="json")})


def _replied_to(message: Message, messages: Sequence[Message]) -> bool:
    """Whether a reply to this message is among `messages`: a reply is committed with the turn's state and
    the message's mark (`_commit`), so a stored one means the whole turn took effect."""
    return any(reply.raw.get(REPLY_TO) == message.id for reply in messages)


def shadow_comparison(handoff: Handoff, sent_text: str) -> dict[str, object]:
    """How close the bot's unsent answer was to what the agent actually sent."""
    from bot.similarity import edit_distance, similarity

    assert handoff.shadow is not None
    return {"handoff_id": handoff.id, "conversation_id": handoff.conversation_id, "category": handoff.category,
            "bot_text": handoff.shadow.text, "agent_text": sent_text, "at": now(),
            "similarity": similarity(handoff.shadow.text, sent_text),
            "edit_distance": edit_distance(handoff.shadow.text, sent_text)}
