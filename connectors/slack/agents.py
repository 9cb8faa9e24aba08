"""What IT agents do in the agents channel: buttons, the edit modal, replies typed in a handoff's thread."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.desk import AgentDesk
from bot.errors import AlreadyClaimed, BotError, InvalidTransition
from bot.types import Owner, Participant
from connectors.slack.convert import agent, message_id, plain_text
from connectors.slack.desk import ActionRef, SlackAgentDesk, suggestion
from connectors.slack.posts import HandoffPosts
from connectors.slack.roster import AgentRoster, Directory

log = logging.getLogger(__name__)

EDIT_VIEW = "edit_draft"
Ack = Callable[..., Awaitable[None]]


def edit_modal(ref: ActionRef, text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": EDIT_VIEW,
        "private_metadata": ref.dumps(),
        "title": {"type": "plain_text", "text": "Edit the reply"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "draft",
                "label": {"type": "plain_text", "text": "Reply to the employee"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "initial_value": text[:3000],
                },
            }
        ],
    }


class AgentActions:
    """Each listener acks first (Slack's 3 s), then checks the agent, then calls the core desk."""

    def __init__(
        self,
        desk: AgentDesk,
        slack_desk: SlackAgentDesk,
        roster: AgentRoster,
        directory: Directory,
        posts: HandoffPosts,
        client: AsyncWebClient,
    ) -> None:
        self.desk = desk
        self.slack_desk = slack_desk
        self.roster = roster
        self.directory = directory
        self.posts = posts
        self.client = client

    # -- helpers ---------------------------------------------------------------------------------------------

    async def _agent(self, body: dict[str, Any]) -> Participant | None:
        """The clicking user as an agent, or None after telling a non-agent (only them) no."""
        user = body["user"]
        if await self.roster.is_agent(user["id"]):
            return agent(
                user["id"],
                await self.directory.name(user["id"], user.get("name") or user.get("username", "")),
            )
        await self._tell(
            user["id"], "Only members of the IT agents channel can handle help-desk requests.", body
        )
        return None

    async def _tell(self, user_id: str, text: str, body: dict[str, Any] | None = None) -> None:
        channel = ((body or {}).get("channel") or {}).get("id") or self.slack_desk.channel
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user_id, text=text)
        except Exception:
            log.exception("could not send an ephemeral notice to %s", user_id)

    async def _run(
        self, body: dict[str, Any], ref: ActionRef, step: Callable[[Participant], Awaitable[str]]
    ) -> None:
        who = await self._agent(body)
        if who is None:
            return
        try:
            note = await step(who)
        except AlreadyClaimed as error:
            await self._tell(who.id, f"<@{error.agent}> already claimed this request.", body)
            return
        except InvalidTransition as error:
            await self._tell(who.id, f"Nothing done: {error}.", body)
            return
        except BotError as error:
            await self._tell(who.id, f"Nothing done: {error}.", body)
            return
        except Exception:  # store or queue unreachable: the agent must not think it worked
            log.exception("Slack agent action failed for handoff %s", ref.handoff_id)
            await self._tell(
                who.id, "Nothing done: the help desk backend is unavailable. Try again shortly.", body
            )
            return
        await self.slack_desk.refresh(ref.handoff_id, note)

    @staticmethod
    def _ref(body: dict[str, Any]) -> ActionRef:
        return ActionRef.loads(body["actions"][0]["value"])

    async def _send_suggestion(self, ref: ActionRef, who: Participant, edited: str | None) -> str:
        """A pending draft goes through approve (journaled as a review); a shadow answer goes as the agent."""
        state = await self.desk.store.load(ref.conversation_id)
        if state is not None and state.pending_draft is not None:
            await self.desk.approve(ref.conversation_id, who, edited)
            return f"{'Edited and sent' if edited else 'Approved'} by <@{who.id}>"
        post = await self.posts.by_handoff(ref.handoff_id)
        handoff = await self.desk.queue.get(ref.handoff_id)
        text = edited or (suggestion(handoff) if handoff else "")
        if not text or (post and post.suggestion_sent and not edited):
            raise InvalidTransition(
                state.owner.value if state else "unknown", "send a suggestion that is gone"
            )
        await self.desk.reply(
            ref.conversation_id,
            who,
            text,
            message_id=f"slack-suggestion-{ref.handoff_id}" + ("-edited" if edited else ""),
        )
        if post is not None:
            post.suggestion_sent = True
            await self.posts.save(post)
        return f"{'Edited and sent' if edited else 'Sent'} by <@{who.id}>"

    # -- listeners -------------------------------------------------------------------------------------------

    async def claim(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        ref = self._ref(body)

        async def step(who: Participant) -> str:
            await self.desk.claim(ref.handoff_id, who)
            return f"Claimed by <@{who.id}>"

        await self._run(body, ref, step)

    async def approve(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        ref = self._ref(body)
        await self._run(body, ref, lambda who: self._send_suggestion(ref, who, None))

    async def reject(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        ref = self._ref(body)

        async def step(who: Participant) -> str:
            await self.desk.reject(ref.conversation_id, who, "rejected in Slack")
            return f"Draft rejected by <@{who.id}>, who now owns the conversation"

        await self._run(body, ref, step)

    async def hand_back(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        ref = self._ref(body)

        async def step(who: Participant) -> str:
            await self.desk.hand_back(ref.conversation_id, who)
            return f"Handed back to the bot by <@{who.id}>"

        await self._run(body, ref, step)

    async def edit(self, ack: Ack, body: dict[str, Any]) -> None:
        """The modal must open within the trigger's 3 s, so it opens before anything slower."""
        await ack()
        ref = self._ref(body)
        if await self._agent(body) is None:
            return
        state = await self.desk.store.load(ref.conversation_id)
        handoff = await self.desk.queue.get(ref.handoff_id)
        text = (
            state.pending_draft.text
            if state and state.pending_draft
            else (suggestion(handoff) if handoff else "")
        )
        await self.client.views_open(trigger_id=body["trigger_id"], view=edit_modal(ref, text))

    async def edited(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        text = (view["state"]["values"]["draft"]["text"].get("value") or "").strip()
        if not text:
            await ack(response_action="errors", errors={"draft": "The reply is empty."})
            return
        await ack()
        ref = ActionRef.loads(view["private_metadata"])
        await self._run(body, ref, lambda who: self._send_suggestion(ref, who, text))

    async def thread_reply(self, event: dict[str, Any]) -> None:
        """A message in a handoff's thread: relayed only from the agent owning the conversation."""
        post = await self.posts.by_thread(event["channel"], event["thread_ts"])
        if post is None:
            return
        state = await self.desk.store.load(post.conversation_id)
        user = event.get("user", "")
        if state is None:
            return
        if state.owner is Owner.HUMAN and state.agent == user:
            who = agent(user, await self.directory.name(user))
            await self.desk.reply(
                post.conversation_id, who, plain_text(event.get("text", "")), message_id=message_id(event)
            )
        elif state.owner is Owner.PENDING_HUMAN and await self.roster.is_agent(user):
            await self._tell(
                user,
                "Not sent to the employee: click Claim first, then reply in this thread.",
                {"channel": {"id": event["channel"]}},
            )
