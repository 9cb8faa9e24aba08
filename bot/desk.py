"""What an agent can do to a conversation, whichever desk (web console, Slack) they work from."""

from __future__ import annotations

from bot import messages
from bot.dialogue import BOT, SYSTEM, DialogueManager, Turn
from bot.errors import AlreadyClaimed, ConversationNotFound, HandoffNotFound, InvalidTransition
from bot.files import Attachment
from bot.handoff import Step, transition
from bot.similarity import edit_distance, similarity
from bot.types import (
    ConversationState,
    EscalationReason,
    Handoff,
    HandoffStatus,
    Message,
    Owner,
    Participant,
    Role,
    now,
)


class AgentDesk:
    """Claim, reply, review drafts, hand back. Every step runs under the conversation's lock."""

    def __init__(self, dialogue: DialogueManager) -> None:
        self.dialogue = dialogue
        self.store = dialogue.store
        self.queue = dialogue.queue
        self.journal = dialogue.journal
        self.observer = dialogue.observer

    async def _state(self, conversation_id: str) -> ConversationState:
        state = await self.store.load(conversation_id)
        if state is None:
            raise ConversationNotFound(conversation_id)
        return state

    async def _join(self, conversation_id: str, agent: Participant) -> None:
        """The agent now owns the conversation, and the customer is told who joined."""
        async with self.store.lock(conversation_id):
            state = await self._state(conversation_id)
            state.owner = transition(state.owner, Step.CLAIM)
            state.agent = agent.id
            await self.dialogue.say(state, messages.agent_joined(agent.name), SYSTEM, event="joined")
            await self.store.save(state)

    async def claim(self, handoff_id: str, agent: Participant) -> Handoff:
        handoff = await self.queue.claim(handoff_id, agent.id)
        self.observer.handoff("claimed")
        await self._join(handoff.conversation_id, agent)
        await self.queue.notify({"type": "claimed", "handoff_id": handoff.id, "agent": agent.id,
                                 "conversation_id": handoff.conversation_id})
        return handoff

    async def reply(self, conversation_id: str, agent: Participant, text: str, *, message_id: str | None = None,
                    attachments: tuple[Attachment, ...] = ()) -> Turn:
        """The reply enters the same path as every message; the dialogue manager delivers it."""
        state = await self._state(conversation_id)
        message = Message(conversation_id=conversation_id, channel=state.channel, sender=agent, text=text,
                          attachments=attachments)
        if message_id:
            message = message.model_copy(update={"id": message_id})
        turn = await self.dialogue.handle(message)
        if state.handoff_id and (handoff := await self.queue.get(state.handoff_id)):
            if handoff.status is HandoffStatus.QUEUED:
                await self.queue.claim(handoff.id, agent.id)
                self.observer.handoff("claimed")
        await self.queue.notify({"type": "agent_reply", "conversation_id": conversation_id, "agent": agent.id})
        return turn

    async def note(self, conversation_id: str, agent: Participant, text: str) -> Message:
        """An internal note: kept in the transcript for agents, never shown to the customer."""
        async with self.store.lock(conversation_id):
            state = await self._state(conversation_id)
            return await self.dialogue.say(state, text, agent, internal=True)

    async def hand_back(self, conversation_id: str, agent: Participant) -> None:
        await self._close(conversation_id, agent, messages.handed_back(), "handed_back")

    async def resolve(self, conversation_id: str, agent: Participant) -> None:
        """Done: the bot owns the conversation again and the customer is asked for a rating."""
        await self._close(conversation_id, agent, messages.resolved(agent.name), "resolved")

    async def _close(self, conversation_id: str, agent: Participant, text: str, event: str) -> None:
        async with self.store.lock(conversation_id):
            state = await self._state(conversation_id)
            state.owner = transition(state.owner, Step.HAND_BACK)
            state.agent = None
            state.pending_draft = None
            await self._announce(state, text, event)
            await self._resolve_handoff(state)
            await self.store.save(state)
        await self.queue.notify({"type": event, "conversation_id": conversation_id, "agent": agent.id})

    async def _announce(self, state: ConversationState, text: str, event: str) -> Message:
        """A system line that also marks an event (`raw.event`), so a widget that reloads still sees it."""
        message = Message(conversation_id=state.id, channel=state.channel, sender=SYSTEM, text=text,
                          raw={"event": event})
        await self.store.append(message)
        self.dialogue._push(state, message)
        return message

    async def take_over(self, conversation_id: str, agent: Participant) -> None:
        """An agent steps in, whether or not the bot asked for help; an open handoff is claimed atomically."""
        state = await self._state(conversation_id)
        if state.handoff_id and (handoff := await self.queue.get(state.handoff_id)) \
                and handoff.status is not HandoffStatus.RESOLVED:
            if handoff.claimed_by != agent.id:
                await self.claim(handoff.id, agent)
            return
        async with self.store.lock(conversation_id):
            state = await self._state(conversation_id)
            if state.owner is Owner.HUMAN and state.agent not in (None, agent.id):
                raise AlreadyClaimed(conversation_id, str(state.agent))
            if state.owner is Owner.HUMAN:
                return
            state.owner = transition(state.owner, Step.CLAIM)
            state.agent = agent.id
            await self.dialogue.say(state, messages.agent_joined(agent.name), SYSTEM, event="joined")
            await self.store.save(state)
        await self.queue.notify({"type": "taken_over", "conversation_id": conversation_id, "agent": agent.id})

    async def owner_other_than(self, conversation_id: str, agent: Participant) -> str | None:
        """Who owns the conversation when it is someone other than `agent`: the claimant of its open
        handoff, or the agent who took it over. Only the owner speaks to the customer."""
        state = await self._state(conversation_id)
        if state.handoff_id and (handoff := await self.queue.get(state.handoff_id)) \
                and handoff.status is HandoffStatus.CLAIMED and handoff.claimed_by not in (None, agent.id):
            return handoff.claimed_by
        if state.owner is Owner.HUMAN and state.agent not in (None, agent.id):
            return state.agent
        return None

    async def step_in(self, conversation_id: str, agent: Participant) -> None:
        """An admin takes a conversation another agent owns; the handoff records the change of hands."""
        state = await self._state(conversation_id)
        handoff = await self.queue.get(state.handoff_id) if state.handoff_id else None
        if handoff is not None and handoff.status is not HandoffStatus.RESOLVED:
            await self.assign(handoff.id, agent, agent)
        elif state.owner is Owner.HUMAN and state.agent != agent.id:
            await self._join(conversation_id, agent)  # taken over without a handoff: the admin is its owner now
        await self.queue.notify({"type": "taken_over", "conversation_id": conversation_id, "agent": agent.id})

    async def assign(self, handoff_id: str, to: Participant, by: Participant) -> Handoff:
        """Give a handoff to a named agent (a lead dispatching, or a claimant passing it on)."""
        handoff = await self.queue.get(handoff_id)
        if handoff is None:
            raise HandoffNotFound(handoff_id)
        if handoff.status is HandoffStatus.RESOLVED:
            raise InvalidTransition("resolved", "assign a resolved handoff")
        handoff = await self.queue.reassign(handoff_id, to.id)
        await self._join(handoff.conversation_id, to)
        await self.queue.notify({"type": "assigned", "handoff_id": handoff.id, "agent": to.id, "by": by.id,
                                 "conversation_id": handoff.conversation_id})
        return handoff

    async def typing(self, conversation_id: str, agent: Participant) -> None:
        """A live, unsaved signal for the customer's widget."""
        await self.store.publish_event(conversation_id, {"type": "typing", "role": "agent", "name": agent.name,
                                                         "avatar_url": agent.avatar_url})

    async def approve(self, conversation_id: str, agent: Participant, edited_text: str | None = None) -> Message:
        """Send the draft as it is, or as the agent edited it; only that text reaches the customer."""
        async with self.store.lock(conversation_id):
            state = await self._state(conversation_id)
            draft = state.pending_draft
            if draft is None:
                raise InvalidTransition(state.owner.value, "approve a draft that does not exist")
            final = edited_text.strip() if edited_text and edited_text.strip() else draft.text
            sender = BOT if final == draft.text else agent
            sent = await self.dialogue.say(state, final, sender, citations=draft.citations, event="draft_sent")
            state.owner = transition(state.owner, Step.APPROVE_DRAFT)
            state.pending_draft = None
            await self._resolve_handoff(state)
            await self.store.save(state)
        await self._record_review(draft.model_dump(mode="json"), agent, "approved" if final == draft.text
                                  else "edited", final)
        await self.queue.notify({"type": "draft_sent", "conversation_id": conversation_id, "agent": agent.id})
        return sent

    async def reject(self, conversation_id: str, agent: Participant, reason: str) -> None:
        """Nothing reaches the customer; the rejecting agent now owns the conversation."""
        async with self.store.lock(conversation_id):
            state = await self._state(conversation_id)
            draft = state.pending_draft
            if draft is None:
                raise InvalidTransition(state.owner.value, "reject a draft that does not exist")
            state.pending_draft = None
            state.owner = transition(state.owner, Step.CLAIM)
            state.agent = agent.id
            await self.store.save(state)
            handoff_id = state.handoff_id
        # the handoff follows: a claim left with someone else would leave nobody able to reply
        if handoff_id and (handoff := await self.queue.get(handoff_id)):
            if handoff.status is HandoffStatus.QUEUED:
                await self.queue.claim(handoff_id, agent.id)
                self.observer.handoff("claimed")
            elif handoff.status is HandoffStatus.CLAIMED and handoff.claimed_by != agent.id:
                await self.queue.reassign(handoff_id, agent.id)
        await self._record_review(draft.model_dump(mode="json"), agent, "rejected", "", reason=reason)
        await self.queue.notify({"type": "draft_rejected", "conversation_id": conversation_id, "agent": agent.id})

    async def _resolve_handoff(self, state: ConversationState) -> None:
        if state.handoff_id:
            try:
                await self.queue.resolve(state.handoff_id)
                self.observer.handoff("resolved")
            except HandoffNotFound:
                pass
            state.handoff_id = None

    async def _record_review(self, draft: dict[str, object], agent: Participant, verdict: str, final: str,
                             reason: str = "") -> None:
        original = str(draft["text"])
        await self.journal.record("review", {
            "conversation_id": draft["conversation_id"], "draft_id": draft["id"], "category": draft["category"],
            "agent": agent.id, "at": now(), "verdict": verdict, "original": original, "final": final,
            "confidence": draft.get("confidence"),  # what the bot gave the draft: the ceiling's evidence
            "reason": reason, "edit_distance": edit_distance(original, final) if final else None,
            "similarity": similarity(original, final) if final else None,
        })


def heading(handoff: Handoff, latest: Message | None) -> tuple[str, float] | None:
    """What heads a handoff's queue item, and when it was said: a draft waiting for review is about the question
    it drafts (the customer's "thanks" since says nothing about it); any other handoff, the customer's latest
    words, which the agent answers next."""
    if handoff.draft is not None and handoff.reason is EscalationReason.DRAFT_REVIEW:
        return handoff.draft.question, handoff.draft.created_at
    return (latest.text, latest.created_at) if latest is not None else None


def agent(agent_id: str, name: str = "") -> Participant:
    return Participant(role=Role.AGENT, id=agent_id, name=name or agent_id)
