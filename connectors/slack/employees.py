"""Employee turns (DM, mention, follow-up in a thread, slash command) into the dialogue manager.

Answers never go out from here: the dialogue manager pushes every reply through the `deliver` job and
SlackChannel, the same path whether it runs inline or on a Celery worker.
"""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import Identity
from bot.dialogue import DialogueManager, Turn
from bot.types import Message, Participant
from connectors.slack.convert import CHANNEL, SlackThread, escape
from connectors.slack.posts import HandoffPosts

log = logging.getLogger(__name__)

UNAVAILABLE = (
    "Sorry, the help desk can't take questions right now because of a problem on our side. "
    "Please try again in a few minutes."
)


class Intake:
    def __init__(self, dialogue: DialogueManager, posts: HandoffPosts, client: AsyncWebClient) -> None:
        self.dialogue = dialogue
        self.store = dialogue.store
        self.posts = posts
        self.client = client

    async def known(self, thread: SlackThread) -> bool:
        """A thread the bot already converses in (follow-ups there need no new mention)."""
        return await self.store.load(thread.conversation_id) is not None

    async def ask(self, thread: SlackThread, message: Message) -> Turn | None:
        """One employee turn; on failure the employee is told so in the thread instead of waiting forever."""
        try:
            await self._bind(thread, message.sender)
            turn = await self.dialogue.handle(message)
            if not turn.duplicate and turn.outcome is None:  # a person owns the conversation: show it to them
                await self._forward_to_agents(message)
            return turn
        except Exception:
            log.exception("Slack turn failed for %s", thread.conversation_id)
            await self._apologize(thread)
            return None

    async def _bind(self, thread: SlackThread, customer: Participant) -> None:
        """Create the conversation for the thread once and remember where to post its replies."""
        # the user id comes from an event whose signature Slack made: the employee is who Slack says
        state = await self.dialogue.start(CHANNEL, customer, conversation_id=thread.conversation_id,
                                          identity=Identity(verified=True, user_id=customer.id, source="slack"))
        if SlackThread.from_slots(state.slots) == thread:
            return
        async with self.store.lock(thread.conversation_id):
            state = await self.store.load(thread.conversation_id) or state
            state.slots["slack"] = thread.as_slot()
            await self.store.save(state)

    async def _forward_to_agents(self, message: Message) -> None:
        state = await self.store.load(message.conversation_id)
        post = await self.posts.by_handoff(state.handoff_id) if state and state.handoff_id else None
        if post is None:
            return
        await self.client.chat_postMessage(
            channel=post.channel,
            thread_ts=post.ts,
            text=f"<@{message.sender.id}> wrote: {escape(message.text)}" + files_note(message),
        )

    async def _apologize(self, thread: SlackThread) -> None:
        try:
            await self.client.chat_postMessage(
                channel=thread.channel, thread_ts=thread.thread_ts, text=UNAVAILABLE
            )
        except Exception:
            log.exception("could not tell the employee in %s about the failure", thread.conversation_id)


def files_note(message: Message) -> str:
    """Agents in Slack learn of the files; they open them in the console (agents only)."""
    if not message.attachments:
        return ""
    return " (files, in the console: " + ", ".join(escape(a.filename) for a in message.attachments) + ")"
