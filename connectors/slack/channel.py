"""The Slack push channel: the `deliver` job posts each outgoing message into the employee's thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk.web.async_client import AsyncWebClient

from bot.files import AttachmentStore
from bot.types import ConversationState, Message
from connectors.slack.client import web_client
from connectors.slack.convert import CHANNEL, SlackThread, render
from connectors.slack.files import upload_files

if TYPE_CHECKING:
    from service.settings import Settings


class NotASlackConversation(LookupError):
    """The conversation has no Slack thread to post to (it was not started by this connector)."""


class SlackChannel:
    name = CHANNEL

    def __init__(self, client: AsyncWebClient, files: AttachmentStore | None = None) -> None:
        self.client = client
        self.files = files  # where the files agents attach to replies are read from

    @classmethod
    def from_settings(cls, settings: "Settings", files: AttachmentStore | None = None) -> "SlackChannel":
        if not settings.slack_bot_token:
            raise ValueError("SUPPORTBOT_SLACK_BOT_TOKEN is required for the Slack channel")
        return cls(web_client(settings.slack_bot_token, settings.slack_api_url), files)

    async def send(self, conversation: ConversationState, message: Message) -> None:
        thread = SlackThread.from_slots(conversation.slots)
        if thread is None:
            raise NotASlackConversation(conversation.id)
        await self.client.chat_postMessage(
            channel=thread.channel,
            thread_ts=thread.thread_ts,
            text=message.text,
            blocks=render(message),
            unfurl_links=False,
            unfurl_media=False,
        )
        if self.files is not None:
            await upload_files(self.client, thread, message.attachments, self.files)
