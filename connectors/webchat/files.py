"""The widget's files: the customer uploads one (then lists its id with a message), and downloads those of
the conversation's messages (theirs and the agents'), with the conversation's token like every widget call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response

from bot.files import AttachmentStore
from bot.store import ConversationStore
from connectors.downloads import RESPONSES, as_download
from connectors.ratelimit import RateLimits
from connectors.upload_quota import UploadLedger
from connectors.uploads import RAW_BODY, Uploaded, receive_file
from connectors.webchat.access import ConversationAccess
from connectors.webchat.convert import visible_to_customer

Token = Annotated[str | None, Header(alias="X-Conversation-Token")]


def webchat_files_router(store: ConversationStore, files: AttachmentStore, limits: RateLimits, *,
                         max_bytes: int, ledger: UploadLedger) -> APIRouter:
    router = APIRouter(prefix="/api/conversations/{conversation_id}/attachments")
    authorize = ConversationAccess(store)

    @router.post("", status_code=201, dependencies=[Depends(limits.per_address("uploads"))],
                 responses={413: {"description": "larger than the limit, or the conversation holds its quota of "
                                                 "files; nothing kept"},
                            429: {"description": "too many uploads, or this address's bytes per hour; nothing kept"}},
                 openapi_extra=RAW_BODY)
    async def upload(conversation_id: str, request: Request, x_conversation_token: Token = None,
                     filename: Annotated[str, Query(max_length=255)] = "attachment") -> Uploaded:
        """The file is the raw body (any type; its type is read from its bytes). Send its id in a message's
        `attachments`."""
        state = await authorize(conversation_id, x_conversation_token)
        await limits.check("uploads_per_conversation", state.id)
        return await receive_file(request, files, state.id, filename, max_bytes, ledger,
                                  address=limits.address(request))

    @router.get("/{attachment_id}", responses={**RESPONSES, 403: {"description": "wrong conversation or token"}})
    async def download(conversation_id: str, attachment_id: str, x_conversation_token: Token = None) -> Response:
        """Only a file listed with a message of this conversation the customer may see."""
        state = await authorize(conversation_id, x_conversation_token)
        listed = {a.id for entry in await store.history(state.id) if visible_to_customer(entry.message)
                  for a in entry.message.attachments if a.stored}
        found = await files.get(attachment_id) if attachment_id in listed else None
        if found is None:
            raise HTTPException(404, "no such attachment in this conversation")
        return as_download(*found)

    return router
