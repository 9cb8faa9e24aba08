"""Files both ways in Slack: an employee's file shares are downloaded with the bot token and kept; the files
agents attach to replies are uploaded into the employee's thread (files.getUploadURLExternal, the upload,
files.completeUploadExternal, as `files_upload_v2` does them)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.files import Attachment, AttachmentStore
from bot.types import Message
from connectors.slack.convert import SlackThread

log = logging.getLogger(__name__)

NOT_DOWNLOADED = "not kept: could not be downloaded from Slack"


async def upload_files(client: AsyncWebClient, thread: SlackThread, attachments: Sequence[Attachment],
                       store: AttachmentStore) -> None:
    for attachment in attachments:
        found = await store.get(attachment.id) if attachment.stored else None
        if found is None:
            log.warning("attachment %s is not in the store; not uploaded to Slack", attachment.id)
            continue
        await client.files_upload_v2(channel=thread.channel, thread_ts=thread.thread_ts, content=found[1],
                                     filename=attachment.filename, title=attachment.filename)


class SlackFiles:
    """Keeps the files of a `file_share` message event, each downloaded from its `url_private_download` with
    the bot token, which is only ever sent to Slack's own hosts (the API's host or one under it)."""

    def __init__(self, client: AsyncWebClient, store: AttachmentStore, *, max_bytes: int, per_message: int,
                 timeout: float = 30.0) -> None:
        self.client = client
        self.store = store
        self.max_bytes = max_bytes
        self.per_message = per_message
        self.timeout = timeout
        api = urlsplit(client.base_url)
        self.api_host, self.api_scheme = (api.hostname or "").removeprefix("www."), api.scheme

    async def attach(self, message: Message, event: dict[str, Any]) -> Message:
        shared = [f for f in event.get("files") or () if isinstance(f, dict)]
        if not shared:
            return message
        kept = [await self._keep(index, f, message.conversation_id) for index, f in enumerate(shared)]
        return message.model_copy(update={"attachments": tuple(kept)})

    async def _keep(self, index: int, file: dict[str, Any], conversation_id: str) -> Attachment:
        name = str(file.get("name") or file.get("title") or "attachment")
        size = int(file.get("size") or 0)
        if index >= self.per_message:
            return Attachment.refused(name, size, messages.attachment_too_many(self.per_message))
        if size > self.max_bytes:
            return Attachment.refused(name, size, messages.attachment_too_large(self.max_bytes))
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        data = await self.download(url) if self.ours(url) else None
        if data is None:
            return Attachment.refused(name, size, NOT_DOWNLOADED)
        if len(data) > self.max_bytes:
            return Attachment.refused(name, len(data), messages.attachment_too_large(self.max_bytes))
        return await self.store.put(data, name, conversation_id=conversation_id)

    def ours(self, url: str) -> bool:
        parts = urlsplit(url)
        host = parts.hostname or ""
        return parts.scheme == self.api_scheme and bool(self.api_host) and (
            host == self.api_host or host.endswith("." + self.api_host))

    async def download(self, url: str) -> bytes | None:
        """The bytes, or None: an error status, or Slack's sign-in page (what it serves for a bad token)."""
        headers = {"Authorization": f"Bearer {self.client.token}"}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session:
                async with session.get(url, headers=headers, allow_redirects=False) as response:
                    if response.status != 200 or response.content_type == "text/html":
                        log.warning("Slack file not downloaded: HTTP %s, %s", response.status,
                                    response.content_type)
                        return None
                    data = b""
                    async for chunk in response.content.iter_chunked(64 * 1024):
                        data += chunk
                        if len(data) > self.max_bytes:  # larger than Slack said: stop reading here
                            break
        except (aiohttp.ClientError, TimeoutError):
            log.warning("Slack file not downloaded", exc_info=True)
            return None
        return data
