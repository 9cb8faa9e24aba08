"""Attachments in a local directory: one file of bytes and one JSON description per attachment, named by
its random id (never by the customer's file name)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from bot.files import Attachment, clean_filename, sniff_type
from bot.types import new_id

_ID = re.compile(r"^[0-9a-f]{32}$")


class LocalAttachmentStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def put(self, data: bytes, filename: str, *, conversation_id: str = "") -> Attachment:
        attachment = Attachment(id=new_id(), filename=clean_filename(filename), content_type=sniff_type(data),
                                size=len(data), conversation_id=conversation_id)
        await asyncio.to_thread(self._write, attachment, data)
        return attachment

    def _write(self, attachment: Attachment, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            (self.directory / attachment.id).write_bytes(data)
            (self.directory / f"{attachment.id}.json").write_text(attachment.model_dump_json())
        except BaseException:  # a full disk: nothing half-written stays behind
            self._remove(attachment.id)
            raise

    async def get(self, attachment_id: str) -> tuple[Attachment, bytes] | None:
        if not _ID.match(attachment_id):  # never a path
            return None
        return await asyncio.to_thread(self._read, attachment_id)

    def _read(self, attachment_id: str) -> tuple[Attachment, bytes] | None:
        try:
            meta = (self.directory / f"{attachment_id}.json").read_text()
            data = (self.directory / attachment_id).read_bytes()
        except FileNotFoundError:
            return None
        return Attachment.model_validate_json(meta), data

    async def delete(self, attachment_id: str) -> bool:
        if not _ID.match(attachment_id):
            return False
        return await asyncio.to_thread(self._remove, attachment_id)

    def _remove(self, attachment_id: str) -> bool:
        removed = False
        for path in (self.directory / attachment_id, self.directory / f"{attachment_id}.json"):
            try:
                path.unlink()
                removed = True
            except FileNotFoundError:
                pass
        return removed
