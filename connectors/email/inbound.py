"""Inbound SMTP: the support mailbox's mail enters the dialogue manager here.

The SMTP protocol runs on the same event loop as the container (`loop.create_server` with aiosmtpd's `SMTP`
protocol) rather than in aiosmtpd's `Controller` thread: the Redis client behind the dialogue manager is bound
to the loop that created it, so one loop for both is the simplest arrangement that is correct.

A mail is acknowledged with 250 only after its turn has been handled (stored, answered or escalated). A
temporary failure answers 451 so the sending server keeps the mail and retries; the retry is safe because
message ids are derived from the Message-ID header, so a turn that did complete is not answered twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Iterable

from aiosmtpd.smtp import SMTP, Envelope, Session

from connectors.email.convert import MAX_TEXT_CHARS, to_message
from connectors.email.intake import MailIntake, MailServices, Outcome

log = logging.getLogger(__name__)

DATA_SIZE_LIMIT = 25 * 1024 * 1024  # attachments (photos, PDFs) make ordinary mail this large
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]+")


def smtp_text(reason: str, limit: int = 200) -> str:
    """An SMTP reply is one line of ASCII."""
    return _UNPRINTABLE.sub(" ", reason)[:limit].strip()


class InboundHandler:
    """aiosmtpd hooks: optional recipient check, then the mail intake; its outcome becomes the SMTP answer."""

    def __init__(self, services: MailServices, *, recipients: Iterable[str] = (),
                 max_chars: int = MAX_TEXT_CHARS) -> None:
        self.intake = MailIntake(services, max_chars=max_chars)
        self.recipients = frozenset(r.strip().lower() for r in recipients if r.strip())

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if self.recipients and address.lower() not in self.recipients:
            return "550 5.1.1 Recipient not handled here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            inbound = to_message(raw, max_chars=self.intake.max_chars)
        except ValueError as error:
            log.warning("rejected mail from %s (envelope) to %s: %s", envelope.mail_from, envelope.rcpt_tos,
                        error)
            return f"550 5.6.0 {smtp_text(str(error))}"
        except Exception:
            log.exception("could not parse mail from %s (envelope), %d bytes", envelope.mail_from, len(raw))
            return "550 5.6.0 Message could not be parsed"
        try:
            outcome = await self.intake.receive_converted(inbound, envelope_sender=envelope.mail_from or "")
        except Exception:
            log.exception("mail %s from %s not handled; asking the sender to retry",
                          inbound.message_id, inbound.message.sender.id)
            return "451 4.3.0 Temporary failure, please retry"
        if outcome is Outcome.HANDLED:
            return "250 OK"
        return f"250 OK ({outcome.value} message, not answered)"


class InboundServer:
    """The SMTP listener, on the running loop."""

    def __init__(self, handler: InboundHandler, host: str = "127.0.0.1", port: int = 2525, *,
                 data_size_limit: int = DATA_SIZE_LIMIT, hostname: str | None = None) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.data_size_limit = data_size_limit
        self.hostname = hostname
        self._server: asyncio.AbstractServer | None = None

    def _protocol(self) -> SMTP:
        return SMTP(self.handler, data_size_limit=self.data_size_limit, enable_SMTPUTF8=True,
                    hostname=self.hostname, loop=asyncio.get_running_loop())

    async def start(self) -> "InboundServer":
        if not self.hostname:  # aiosmtpd would look it up (DNS, blocking) for every connection
            self.hostname = await asyncio.to_thread(socket.getfqdn)
        self._server = await asyncio.get_running_loop().create_server(self._protocol, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]  # the real one when asked for port 0
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
