"""One way to hand out a stored file, whoever downloads it (an agent, the customer of its conversation).

Every file is sent as a download (`Content-Disposition: attachment`) with the type sniffed from its bytes
when it is an image or a PDF, else as opaque bytes, with a CSP sandbox (the app adds `nosniff` to every
response), so an HTML file named `invoice.png` cannot run script on our origin."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Response

from bot.files import Attachment, clean_filename

RESPONSES: dict[int | str, dict[str, object]] = {200: {"content": {"application/octet-stream": {}}},
                                                 404: {"description": "unknown"}}


def as_download(attachment: Attachment, data: bytes) -> Response:
    name = quote(clean_filename(attachment.filename), safe="")  # also a name kept before it was cleaned
    return Response(data, media_type=attachment.served_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
        "Content-Security-Policy": "sandbox; default-src 'none'", "Cache-Control": "private, no-store"})
