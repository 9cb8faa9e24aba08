"""Agents download customers' attachments; nobody else can, and nothing is ever rendered as a page of ours.

Every file is sent as a download (`Content-Disposition: attachment`) with the type sniffed from its bytes
when it is an image or a PDF, else as opaque bytes, with `nosniff` and a CSP sandbox, so an HTML file named
`invoice.png` cannot run script on our origin."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Response

from bot.files import VIEWABLE, AttachmentStore
from connectors.console.auth import ConsoleAuth


def files_router(store: AttachmentStore, auth: ConsoleAuth) -> APIRouter:
    router = APIRouter(prefix="/api/agent/attachments")
    @router.get("/{attachment_id}", dependencies=[Depends(auth.identify)],
                responses={200: {"content": {"application/octet-stream": {}}}, 401: {"description": "agents only"},
                           404: {"description": "unknown"}})
    async def download(attachment_id: str) -> Response:
        found = await store.get(attachment_id)
        if found is None:
            raise HTTPException(404, "no such attachment")
        attachment, data = found
        media_type = attachment.content_type if attachment.content_type in VIEWABLE else "application/octet-stream"
        name = quote(attachment.filename, safe="")
        return Response(data, media_type=media_type, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
            "Content-Security-Policy": "sandbox; default-src 'none'", "Cache-Control": "private, no-store"})

    return router
