"""Files customers send with a message: what the core knows of them, and where they are kept.

The core owns the interface; `connectors/storage.py` keeps files in a local directory. An S3-compatible
store implements the same two methods (put the bytes under the attachment's id, get them back) with any S3
client, and is passed to the composition root instead.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Protocol

from pydantic import BaseModel, ConfigDict

# Magic numbers of the types customers send most; anything else is kept as application/octet-stream.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"), (b"%PDF-", "application/pdf"), (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"), (b"BM", "image/bmp"),
)
# What may be shown in a browser as itself; every other type is served as a download of opaque bytes.
VIEWABLE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]+")
# By Unicode category: a control character becomes a space; format characters (bidi overrides, embeddings and
# isolates, the directional marks, zero-width ones) and line or paragraph separators go. "invoice" + U+202E +
# "gpj.exe" would read as "invoiceexe.jpg".
_SHOWN_AS = {"Cc": " ", "Cf": "", "Cs": "", "Zl": "", "Zp": ""}


def shown(name: str) -> str:
    """A name as it may be shown to people: nothing that hides text or changes its direction."""
    return "".join(_SHOWN_AS.get(unicodedata.category(c), c) for c in name)


def clean_filename(name: str) -> str:
    """What a customer's file is called where it is shown: its last path part, no control or format
    characters."""
    name = shown(_UNSAFE_NAME.sub(" ", name.replace("\\", "/").rsplit("/", 1)[-1])).strip()[:200].strip()
    return name if name.strip(".") else "attachment"


def sniff_type(data: bytes) -> str:
    """The type by content, never by name or declared type: a `.png` that holds HTML is not an image."""
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    head = data[:4096]
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):  # HTML, SVG, XML: a document a browser might run
        return "application/octet-stream"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut at the edge
            return "application/octet-stream"
    if b"\x00" in head:
        return "application/octet-stream"
    return "text/plain"


class Attachment(BaseModel):
    """One file of a message. `stored` is False when it was not kept (too large, too many): it is still
    listed, with the reason in `note`, so nobody thinks the customer sent nothing."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)  # as bot.types.Model: no file names in logs

    id: str
    filename: str
    content_type: str
    size: int
    stored: bool = True
    note: str = ""
    conversation_id: str = ""  # where it was uploaded (widget, console): a message may only list its own

    @property
    def served_type(self) -> str:
        """The type it is handed out as: its own when a browser may show it as itself (an image, a PDF),
        else opaque bytes, so nothing a customer sent is ever taken for a page or a script."""
        return self.content_type if self.content_type in VIEWABLE else "application/octet-stream"

    @classmethod
    def refused(cls, filename: str, size: int, note: str) -> "Attachment":
        return cls(id=uuid.uuid4().hex, filename=filename, content_type="application/octet-stream", size=size,
                   stored=False, note=note)


class AttachmentStore(Protocol):
    async def put(self, data: bytes, filename: str, *, conversation_id: str = "") -> Attachment:
        """Keep the bytes; the returned attachment's type is sniffed from them. `conversation_id` names the
        conversation an upload belongs to, for files that reach the store before their message does."""
        ...

    async def get(self, attachment_id: str) -> tuple[Attachment, bytes] | None:
        """The attachment and its bytes, or None when unknown (or expired)."""
        ...

    async def delete(self, attachment_id: str) -> bool:
        """Remove the bytes and the description (an expired upload, an erased customer's file); False when
        there was nothing to remove."""
        ...
