"""Files sent over HTTP (the widget, the agent console): read with a size limit, counted against the
customer's quotas (connectors/upload_quota.py), kept in the store, and listed with a message only when they
were uploaded into that message's conversation."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from fastapi import HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.files import Attachment, AttachmentStore, clean_filename
from bot.types import NOT_BLANK, Text
from connectors.upload_quota import QuotaExceeded, UploadLedger

AttachmentId = Annotated[str, Field(min_length=1, max_length=64)]


class TextOrFiles(BaseModel):
    """A message body: words, files (ids from the upload endpoint), or both; never neither."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["text"], "properties": {"text": {"minLength": 1, "pattern": NOT_BLANK}}},
        {"required": ["attachments"], "properties": {"attachments": {"minItems": 1}}}]})
    empty: ClassVar[str] = "text is empty"

    text: Text = ""
    attachments: list[AttachmentId] = Field(default_factory=list, max_length=100,
                                            description="ids the upload endpoint returned")

    @model_validator(mode="after")
    def _says_something(self) -> "TextOrFiles":
        self.text = self.text.strip()
        if not self.text and not self.attachments:
            raise ValueError(self.empty)
        return self


# The request body of an upload: the file's bytes as they are (no form encoding), at least one byte.
RAW_BODY = {"requestBody": {"required": True, "content": {"application/octet-stream": {
    "schema": {"type": "string", "format": "binary", "minLength": 1}}}}}


class Uploaded(BaseModel):
    """What the uploader needs to list the file with its message."""

    id: str
    filename: str
    content_type: str = Field(description="sniffed from the bytes, whatever the name says")
    size: int


async def read_limited(request: Request, max_bytes: int) -> bytes:
    """The raw request body, refused with 413 as soon as it passes `max_bytes` (nothing is kept)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise HTTPException(413, too_large(max_bytes))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise HTTPException(413, too_large(max_bytes))
        chunks.append(chunk)
    if not size:
        raise HTTPException(400, "the file is empty")
    return b"".join(chunks)


def too_large(max_bytes: int) -> str:
    return f"the file is larger than {max_bytes / 1_048_576:g} MB"


async def receive_file(request: Request, store: AttachmentStore, conversation_id: str, filename: str,
                       max_bytes: int, ledger: UploadLedger, *, address: str | None = None) -> Uploaded:
    """Keep an uploaded file. With `address` (a customer's upload) its bytes count against that address's hour
    and the conversation first: over either, 429 (with Retry-After) or 413, and nothing is written."""
    await ledger.sweep()
    data = await read_limited(request, max_bytes)
    reservation = None
    if address is not None:
        try:
            reservation = await ledger.reserve(address, conversation_id, len(data))
        except QuotaExceeded as refused:
            if refused.retry_after is None:
                raise HTTPException(413, str(refused)) from None
            raise HTTPException(429, str(refused), headers={"Retry-After": str(refused.retry_after)}) from None
    try:
        kept = await store.put(data, filename, conversation_id=conversation_id)
    except BaseException:
        if reservation is not None:
            await ledger.cancel(reservation)
        raise
    await ledger.kept(kept, len(data) if reservation is not None else 0)
    return Uploaded(id=kept.id, filename=kept.filename, content_type=kept.content_type, size=kept.size)


async def attached(store: AttachmentStore, ids: list[str], conversation_id: str, limit: int
                   ) -> tuple[Attachment, ...]:
    """The files a message lists, in order, each once: 404 for an id that was not uploaded into this
    conversation (another conversation's file is as unknown as a made-up id), 400 for more than `limit`."""
    unique = list(dict.fromkeys(ids))
    found: list[Attachment] = []
    for attachment_id in unique[:limit + 1]:
        got = await store.get(attachment_id)
        if got is None or got[0].conversation_id != conversation_id:
            raise HTTPException(404, f"unknown attachment {attachment_id[:64]!r}: upload it first")
        found.append(got[0])
    if len(unique) > limit:
        raise HTTPException(400, f"more than {limit} files in one message")
    return tuple(found)


def listed(attachment: Attachment) -> dict[str, Any]:
    """How a message's file is shown to whoever reads it: never its bytes, never the uploader's conversation."""
    shown = attachment.model_dump(include={"id", "filename", "content_type", "size", "stored", "note"})
    return {**shown, "filename": clean_filename(attachment.filename)}  # also a name kept before it was cleaned
