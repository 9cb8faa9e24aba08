"""Mail providers' parsed-mail payloads → raw RFC 5322 bytes, so webhook mail takes the same path as SMTP and
IMAP mail (threading, automatic-mail checks, attachments). Only the headers that matter to us are carried
over; the body and attachments are rebuilt from the provider's fields."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import HeaderParser
from typing import Any

from connectors.email.convert import header_safe

KEPT_HEADERS = ("From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
                "Auto-Submitted", "Precedence", "X-Autoreply", "X-Autorespond", "Content-Language")


@dataclass
class ParsedMail:
    """What a provider tells us about one mail."""

    headers: list[tuple[str, str]]
    text: str = ""
    html: str = ""
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)  # name, content type, data
    envelope_sender: str | None = None

    def to_raw(self) -> bytes:
        mail = EmailMessage(policy=policy.SMTP)
        wanted = {name.lower(): name for name in KEPT_HEADERS}
        for name, value in self.headers:
            canonical = wanted.get(name.strip().lower())
            if canonical and canonical not in mail:
                mail[canonical] = header_safe(value)
        if self.text or not self.html:
            mail.set_content(self.text or "")
            if self.html:
                mail.add_alternative(self.html, subtype="html")
        else:
            mail.set_content(self.html, subtype="html")
        for name, content_type, data in self.attachments:
            maintype, _, subtype = (content_type or "application/octet-stream").partition("/")
            mail.add_attachment(data, maintype=maintype or "application", subtype=subtype or "octet-stream",
                                filename=name or "attachment")
        return mail.as_bytes()


class PayloadError(ValueError):
    """The provider's payload is not what its documentation describes."""


def _header_block(block: str) -> list[tuple[str, str]]:
    return [(k, str(v)) for k, v in HeaderParser(policy=policy.compat32).parsestr(block).items()]


def sendgrid(fields: dict[str, str], files: Iterable[tuple[str, str, bytes]]) -> ParsedMail | bytes:
    """SendGrid Inbound Parse (multipart/form-data). With "POST the raw, full MIME message" the mail is in
    `email` and is returned as is; otherwise `headers` holds the raw header block and `text`, `html` and the
    `attachmentN` files the content."""
    envelope_sender = None
    if fields.get("envelope"):
        try:
            envelope = json.loads(fields["envelope"])
            envelope_sender = str(envelope.get("from") or "")
        except (ValueError, AttributeError) as error:
            raise PayloadError(f"envelope is not the documented JSON: {error}") from error
    if fields.get("email"):
        return fields["email"].encode("utf-8", "surrogateescape")
    if not fields.get("headers"):
        raise PayloadError("neither 'email' (raw mode) nor 'headers' in the form")
    return ParsedMail(_header_block(fields["headers"]), fields.get("text", ""), fields.get("html", ""),
                      list(files), envelope_sender)


def postmark(payload: Any) -> ParsedMail:
    """Postmark's inbound webhook JSON. Its `MessageID` is Postmark's own id; the sender's Message-ID (which
    threads the conversation) is among `Headers`."""
    if not isinstance(payload, dict):
        raise PayloadError("the body is not a JSON object")
    headers: list[tuple[str, str]] = []
    sender = payload.get("FromFull") or {}
    if isinstance(sender, dict) and sender.get("Email"):
        name = str(sender.get("Name") or "").replace('"', "")
        headers.append(("From", f'"{name}" <{sender["Email"]}>' if name else str(sender["Email"])))
    elif payload.get("From"):
        headers.append(("From", str(payload["From"])))
    for name, key in (("To", "To"), ("Cc", "Cc"), ("Subject", "Subject"), ("Date", "Date"),
                      ("Reply-To", "ReplyTo")):
        if payload.get(key):
            headers.append((name, str(payload[key])))
    for header in payload.get("Headers") or []:
        if isinstance(header, dict) and header.get("Name"):
            headers.append((str(header["Name"]), str(header.get("Value") or "")))
    attachments = []
    for item in payload.get("Attachments") or []:
        if not isinstance(item, dict):
            raise PayloadError("an attachment is not an object")
        try:
            data = base64.b64decode(str(item.get("Content") or ""), validate=False)
        except (binascii.Error, ValueError) as error:
            raise PayloadError(f"attachment {item.get('Name')!r} is not base64: {error}") from error
        attachments.append((str(item.get("Name") or ""), str(item.get("ContentType") or ""), data))
    return ParsedMail(headers, str(payload.get("TextBody") or ""), str(payload.get("HtmlBody") or ""),
                      attachments)
