"""The Bolt app: thin listeners that ack, convert the Slack payload, and hand it to the core.

Bolt runs with `process_before_response=False`: events are acknowledged before the listener runs, and actions,
views and commands call `ack()` first, so Slack gets its answer within 3 s whatever the core does afterwards.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.types import Message
from connectors.slack.agents import EDIT_VIEW, AgentActions
from connectors.slack.client import web_client
from connectors.slack.convert import CHANNEL, SlackThread, employee, escape, plain_text, thread_of, to_message
from connectors.slack.desk import APPROVE, CLAIM, EDIT, HAND_BACK, REJECT, SlackAgentDesk
from connectors.slack.employees import Intake
from connectors.slack.files import SlackFiles
from connectors.slack.posts import HandoffPosts
from connectors.slack.roster import AgentRoster, Directory

if TYPE_CHECKING:
    from service.container import Container
    from service.settings import Settings

log = logging.getLogger(__name__)

COMMAND = "/helpdesk"
LOOKING = "Looking into it…"
_PERSON_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})


def _header(req: AsyncBoltRequest, name: str) -> str | None:
    values = req.headers.get(name) or []
    return values[0] if values else None


async def skip_timed_out_retries(
    req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
) -> BoltResponse:
    """A retry after `http_timeout` means the first delivery reached us and is being handled: ack, do nothing.

    Other retry reasons (connection failed, HTTP error) mean the first delivery may never have been handled,
    so those go through; the dialogue manager dedupes them by message id and answers at most once.
    """
    if _header(req, "x-slack-retry-num") and _header(req, "x-slack-retry-reason") == "http_timeout":
        return BoltResponse(status=200, body="")
    return await next()


REPLAY_WINDOW_SECONDS = 5 * 60  # Slack's own: older timestamps fail signature verification


def drop_replays(redis: Any, prefix: str) -> Callable[..., Awaitable[BoltResponse]]:
    """A signed request seen before is a replay (a captured slash command or button click sent again):
    acknowledge it and do nothing. Signatures cover timestamp and body, so Slack's own retries, which are
    signed anew, still go through; Socket Mode requests carry no signature and are not affected."""

    async def middleware(req: AsyncBoltRequest, resp: BoltResponse,
                         next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        signature = _header(req, "x-slack-signature")
        if signature:
            key = f"{prefix}:slack:seen:{hashlib.sha256(signature.encode()).hexdigest()}"
            try:
                first = await redis.set(key, "1", nx=True, ex=REPLAY_WINDOW_SECONDS + 60)
            except RedisError:  # Redis down: the request goes on to the outage handling, as any other
                first = True
            if not first:
                log.warning("replayed Slack request dropped")
                return BoltResponse(status=200, body="")
        return await next()

    return middleware


def typed_by_a_person(event: dict[str, Any], bot_user_id: str | None) -> bool:
    """Edits, deletions, joins and every bot's messages (ours included) are not turns."""
    return (
        event.get("subtype") in _PERSON_SUBTYPES
        and not event.get("bot_id")
        and bool(event.get("user"))
        and event.get("user") != bot_user_id
    )


def install_agent_desk(container: "Container", desk: SlackAgentDesk) -> None:
    """Make this process's escalation jobs post to the agents channel (no-op when already wired)."""
    notifiers = container.escalation.notifiers
    if not any(isinstance(n, SlackAgentDesk) for n in notifiers):
        notifiers.append(desk)


def build_slack_app(
    container: "Container",
    settings: "Settings",
    *,
    client: AsyncWebClient | None = None,
    socket_mode: bool = False,
    roster_ttl: float = 60.0,
) -> AsyncApp:
    token, secret, agents_channel = (
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_agents_channel,
    )
    if not token:
        raise ValueError("SUPPORTBOT_SLACK_BOT_TOKEN is required")
    if not socket_mode and not secret:
        raise ValueError("SUPPORTBOT_SLACK_SIGNING_SECRET is required to receive Slack requests over HTTP")
    client = client or web_client(token, settings.slack_api_url)
    app = AsyncApp(
        signing_secret=secret or "",
        client=client,
        process_before_response=False,
        request_verification_enabled=bool(secret),
    )

    posts = HandoffPosts(container.redis, settings.redis_prefix)
    slack_desk = SlackAgentDesk(client, agents_channel or "", posts, container.store, container.queue)
    if agents_channel:
        install_agent_desk(container, slack_desk)
    else:
        log.warning("SUPPORTBOT_SLACK_AGENTS_CHANNEL not set: handoffs are not posted to Slack")
    roster = AgentRoster(
        client, agents_channel, settings.slack_agents_usergroup, ttl=roster_ttl
    )
    intake = Intake(container.dialogue, posts, client)
    files = SlackFiles(client, container.attachments, max_bytes=settings.attachment_max_bytes,
                       per_message=settings.attachments_per_message)
    actions = AgentActions(container.desk, slack_desk, roster, Directory(client), posts, client)

    app.middleware(skip_timed_out_retries)
    app.middleware(drop_replays(container.redis, settings.redis_prefix))

    async def employee_message(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
                               ) -> Message:
        """The event as a message, with the files it shares downloaded and kept."""
        message = to_message(
            event,
            team_id=body.get("team_id", ""),
            event_id=body.get("event_id", ""),
            bot_user_id=context.bot_user_id,
        )
        return await files.attach(message, event)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        if not typed_by_a_person(event, context.bot_user_id):
            return
        if (
            event["channel"] == agents_channel
            and event.get("thread_ts")
            and await posts.by_thread(event["channel"], event["thread_ts"])
        ):
            return  # agents talking in a handoff thread: the message listener relays it
        thread = thread_of(event, body.get("team_id", ""))
        message = await employee_message(event, body, context)
        if not message.text and not message.attachments:
            await client.chat_postMessage(
                channel=thread.channel,
                thread_ts=thread.thread_ts,
                text=f"Ask me an IT question after the mention, or use `{COMMAND}`.",
            )
            return
        await intake.ask(thread, message)

    @app.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        if not typed_by_a_person(event, context.bot_user_id):
            return
        team = body.get("team_id", "")
        if event.get("channel_type") == "im":
            message = await employee_message(event, body, context)
            if message.text or message.attachments:
                await intake.ask(thread_of(event, team), message)
            return
        if not event.get("thread_ts"):
            return
        if event["channel"] == agents_channel:
            await actions.thread_reply(event)
            return
        if context.bot_user_id and f"<@{context.bot_user_id}" in event.get("text", ""):
            return  # the app_mention listener answers it
        thread = thread_of(event, team)
        state = await container.store.load(thread.conversation_id)
        if state is not None and state.customer.id == event.get(
            "user"
        ):  # a follow-up in the employee's thread
            await intake.ask(thread, await employee_message(event, body, context))

    @app.command(COMMAND)
    async def on_command(ack: Callable[..., Awaitable[None]], command: dict[str, Any]) -> None:
        question = (command.get("text") or "").strip()
        if not question:
            await ack(
                response_type="ephemeral",
                text=f"Ask a question after the command, e.g. `{COMMAND} How do I reset my password?`",
            )
            return
        await ack(response_type="ephemeral", text=LOOKING)
        user = command["user_id"]
        dm = await client.conversations_open(users=user)
        channel = dm["channel"]["id"]
        parent = await client.chat_postMessage(channel=channel, text=f"*You asked:* {escape(question)}")
        thread = SlackThread(team=command.get("team_id", ""), channel=channel, thread_ts=parent["ts"])
        await intake.ask(
            thread,
            Message(
                id=f"slack-cmd-{command.get('trigger_id') or parent['ts']}",
                conversation_id=thread.conversation_id,
                channel=CHANNEL,
                sender=employee(user),
                text=plain_text(question),
            ),
        )

    app.action(CLAIM)(actions.claim)
    app.action(APPROVE)(actions.approve)
    app.action(EDIT)(actions.edit)
    app.action(REJECT)(actions.reject)
    app.action(HAND_BACK)(actions.hand_back)
    app.view(EDIT_VIEW)(actions.edited)
    return app
