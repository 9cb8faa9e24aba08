"""The files of an outgoing message as MIME attachments of its mail."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.message import EmailMessage

from bot.files import Attachment, AttachmentStore

log = logging.getLogger(__name__)


async def attach_files(mail: EmailMessage, attachments: Sequence[Attachment], store: AttachmentStore) -> None:
    """Each kept file, typed as sniffed when it is an image or a PDF, else as opaque bytes. A file gone from
    the store (expired) is left out and logged: the words still reach the customer."""
    for attachment in attachments:
        found = await store.get(attachment.id) if attachment.stored else None
        if found is None:
            log.warning("attachment %s of message %s is not in the store; mailed without it", attachment.id,
                        mail["Message-ID"])
            continue
        maintype, _, subtype = attachment.served_type.partition("/")
        mail.add_attachment(found[1], maintype=maintype, subtype=subtype, filename=attachment.filename)
