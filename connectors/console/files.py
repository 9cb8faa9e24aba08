"""Agents download customers' attachments and upload files for their replies; nobody else can do either.
Downloads go out as `connectors.downloads` sends every file: never rendered as a page of ours."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from bot.files import AttachmentStore
from bot.store import ConversationStore
from connectors.console.auth import ConsoleAuth
from connectors.downloads import RESPONSES, as_download
from connectors.upload_quota import UploadLedger
from connectors.uploads import RAW_BODY, Uploaded, receive_file


def files_router(store: AttachmentStore, conversations: ConversationStore, auth: ConsoleAuth, *,
                 max_bytes: int, ledger: UploadLedger) -> APIRouter:
    router = APIRouter(prefix="/api/agent", dependencies=[Depends(auth.identify)])

    @router.get("/attachments/{attachment_id}", responses={**RESPONSES, 401: {"description": "agents only"}})
    async def download(attachment_id: str) -> Response:
        found = await store.get(attachment_id)
        if found is None:
            raise HTTPException(404, "no such attachment")
        return as_download(*found)

    @router.post("/conversations/{conversation_id}/attachments", status_code=201,
                 openapi_extra=RAW_BODY)
    async def upload(conversation_id: str, request: Request,
                     filename: Annotated[str, Query(max_length=255)] = "attachment") -> Uploaded:
        """The file is the raw body; reply with its id in `attachments` to send it to the customer (unsent, it
        expires as a customer's upload does; agents' files count against no quota)."""
        if len(conversation_id) > 64 or await conversations.load(conversation_id) is None:
            raise HTTPException(404, "conversation not found")
        return await receive_file(request, store, conversation_id, filename, max_bytes, ledger)

    return router
