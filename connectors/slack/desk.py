"""The agents channel as a desk: each handoff becomes one message with its buttons, updated as agents act."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from bot.store import ConversationStore, HandoffQueue
from bot.types import Handoff, HandoffStatus
from connectors.slack.client import web_client
from connectors.slack.convert import escape, source_link
from connectors.slack.posts import HandoffPost, HandoffPosts

if TYPE_CHECKING:
    from service.settings import Settings

log = logging.getLogger(__name__)

CLAIM, APPROVE, EDIT, REJECT, HAND_BACK = "claim", "approve", "edit", "reject", "hand_back"
_LABELS = {CLAIM: "Claim", APPROVE: "Approve", EDIT: "Edit", REJECT: "Reject", HAND_BACK: "Hand back"}
_STYLES = {APPROVE: "primary", REJECT: "danger"}


@dataclass(frozen=True)
class ActionRef:
    """What a button acts on; travels in the button's `value` (and the edit modal's private_metadata)."""

    conversation_id: str
    handoff_id: str

    def dumps(self) -> str:
        return json.dumps({"c": self.conversation_id, "h": self.handoff_id}, separators=(",", ":"))

    @classmethod
    def loads(cls, value: str) -> "ActionRef":
        data = json.loads(value)
        return cls(conversation_id=str(data["c"]), handoff_id=str(data["h"]))


def suggestion(handoff: Handoff) -> str:
    """The bot's proposed reply: the draft awaiting review, else what it would have said (shadow)."""
    if handoff.draft is not None:
        return handoff.draft.text
    return handoff.shadow.text if handoff.shadow is not None else ""


def actions_for(handoff: Handoff, *, has_draft: bool, suggestion_sent: bool = False) -> list[str]:
    """Only the buttons that still make sense: nothing once resolved, no Claim once claimed."""
    if handoff.status is HandoffStatus.RESOLVED:
        return []
    actions = [CLAIM] if handoff.status is HandoffStatus.QUEUED else []
    shadow_offer = handoff.draft is None and bool(suggestion(handoff)) and not suggestion_sent
    if has_draft or shadow_offer:  # a draft once reviewed (approved or rejected) is not offered again
        actions += [APPROVE, EDIT]
    if has_draft:
        actions.append(REJECT)
    return actions + [HAND_BACK]


def _confidence(handoff: Handoff) -> str:
    source = handoff.draft or handoff.shadow
    return f"{source.confidence:.2f}" if source is not None else "n/a"


def handoff_blocks(
    handoff: Handoff, *, customer: str | None, actions: list[str], notes: list[str]
) -> list[dict[str, Any]]:
    who = f" from <@{customer}>" if customer else ""
    proposed = suggestion(handoff)
    label = "Bot's draft (awaiting review)" if handoff.draft is not None else "What the bot would say"
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*Help-desk request{who}*\n>{escape(handoff.question)[:2900]}",
            },
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Category*\n{escape(handoff.category)}"},
                {"type": "mrkdwn", "text": f"*Confidence*\n{_confidence(handoff)}"},
                {"type": "mrkdwn", "text": f"*Reason*\n{handoff.reason.value.replace('_', ' ')}"},
                {"type": "mrkdwn", "text": f"*Queue*\n{escape(handoff.queue)}"},
            ],
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f"*{label}*\n{escape(proposed)[:2800]}"
                    if proposed
                    else f"*No draft*: {escape(handoff.explanation or 'the bot has no answer')}"
                ),
            },
        },
    ]
    citations = (
        handoff.draft.citations if handoff.draft else (handoff.shadow.citations if handoff.shadow else [])
    )
    if proposed and citations:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "Sources: " + " · ".join(source_link(c) for c in citations)}
                ],
            }
        )
    if notes:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(notes)}]})
    if actions:
        ref = ActionRef(handoff.conversation_id, handoff.id).dumps()
        blocks.append(
            {
                "type": "actions",
                "block_id": f"handoff:{handoff.id}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": a,
                        "text": {"type": "plain_text", "text": _LABELS[a]},
                        "value": ref,
                        **({"style": _STYLES[a]} if a in _STYLES else {}),
                    }
                    for a in actions
                ],
            }
        )
    return blocks


def summary(handoff: Handoff) -> str:
    """Notification text (and fallback for clients without blocks)."""
    return f"Help-desk request ({handoff.category}): {handoff.question[:200]}"


class SlackAgentDesk:
    """AgentNotifier for bot/escalation.py: posts a handoff once, reminds in its thread, redraws it."""

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        posts: HandoffPosts,
        store: ConversationStore | None = None,
        queue: HandoffQueue | None = None,
    ) -> None:
        self.client = client
        self.channel = channel
        self.posts = posts
        self.store = store
        self.queue = queue

    @classmethod
    def from_settings(
        cls,
        settings: "Settings",
        redis: Redis,
        store: ConversationStore | None = None,
        queue: HandoffQueue | None = None,
    ) -> "SlackAgentDesk":
        if not settings.slack_bot_token or not settings.slack_agents_channel:
            raise ValueError("SUPPORTBOT_SLACK_BOT_TOKEN and SUPPORTBOT_SLACK_AGENTS_CHANNEL are required")
        return cls(
            web_client(settings.slack_bot_token, settings.slack_api_url),
            settings.slack_agents_channel,
            HandoffPosts(redis, settings.redis_prefix),
            store,
            queue,
        )

    async def _customer(self, conversation_id: str) -> str | None:
        state = await self.store.load(conversation_id) if self.store is not None else None
        return state.customer.id if state is not None and state.customer.id else None

    async def handoff_opened(self, handoff: Handoff) -> None:
        if await self.posts.by_handoff(handoff.id):  # the job ran again (retry, second worker): one post only
            return
        blocks = handoff_blocks(
            handoff,
            customer=await self._customer(handoff.conversation_id),
            actions=actions_for(handoff, has_draft=handoff.draft is not None),
            notes=[],
        )
        posted = await self.client.chat_postMessage(
            channel=self.channel, text=summary(handoff), blocks=blocks
        )
        await self.posts.save(
            HandoffPost(handoff.id, handoff.conversation_id, posted["channel"], posted["ts"])
        )

    async def handoff_unclaimed(self, handoff: Handoff) -> None:
        post = await self.posts.by_handoff(handoff.id)
        if post is None:
            await self.handoff_opened(handoff)
            return
        await self.client.chat_postMessage(
            channel=post.channel,
            thread_ts=post.ts,
            reply_broadcast=True,
            text=f"Still unclaimed (reminder {handoff.reminders}): {escape(handoff.question[:200])}",
        )

    async def refresh(self, handoff_id: str, note: str | None = None) -> None:
        """Redraw the post from the current handoff and conversation, adding `note` to who-did-what."""
        if self.queue is None or self.store is None:
            raise RuntimeError("refresh needs the handoff queue and the conversation store")
        post = await self.posts.by_handoff(handoff_id)
        handoff = await self.queue.get(handoff_id)
        if post is None or handoff is None:
            return
        notes = await self.posts.add_note(handoff_id, note) if note else await self.posts.notes(handoff_id)
        state = await self.store.load(handoff.conversation_id)
        has_draft = state is not None and state.pending_draft is not None and state.handoff_id == handoff.id
        actions = actions_for(handoff, has_draft=has_draft, suggestion_sent=post.suggestion_sent)
        customer = state.customer.id if state is not None and state.customer.id else None
        await self.client.chat_update(
            channel=post.channel,
            ts=post.ts,
            text=summary(handoff),
            blocks=handoff_blocks(handoff, customer=customer, actions=actions, notes=notes),
        )
