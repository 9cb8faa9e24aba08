"""An email harness with real SMTP on both sides.

Customers' mail goes in through smtplib to the inbound server (on the test's loop, as in production);
replies go out through EmailChannel to an aiosmtpd "smarthost" sink running in its own thread, which records
them.
"""

from __future__ import annotations

import asyncio
import smtplib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from connectors.email.channel import EmailChannel
from connectors.email.inbound import InboundHandler, InboundServer
from service.container import Container, build_attachments, build_container
from service.settings import Settings
from tests.net import free_port

SUPPORT = "support@acme.test"
CUSTOMER = "ada@example.test"



@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    mail: EmailMessage

    @property
    def body(self) -> str:
        text = self.mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        return text.replace("\r\n", "\n")


@dataclass
class Sink:
    """The outbound smarthost: accepts everything and keeps it."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        mail = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          mail))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if address in r.rcpt_tos]



@pytest.fixture
def sink() -> Iterator[Sink]:
    recorder = Sink(port=free_port())
    controller = Controller(recorder, hostname="127.0.0.1", port=recorder.port)
    controller.start()
    yield recorder
    controller.stop()


@dataclass
class Mailbox:
    """The running inbound server and what sits behind it."""

    container: Container
    server: InboundServer

    async def send(self, raw: bytes | EmailMessage, *, mail_from: str = CUSTOMER, to: str = SUPPORT) -> None:
        """Deliver like an MTA would; raises smtplib's errors on a refusal."""
        data = raw.as_bytes(policy=policy.SMTP) if isinstance(raw, EmailMessage) else raw
        await asyncio.to_thread(self._send, data, mail_from, to)

    def _send(self, data: bytes, mail_from: str, to: str) -> None:
        with smtplib.SMTP("127.0.0.1", self.server.port, timeout=10) as smtp:
            smtp.sendmail(mail_from, [to], data)

    async def settle(self) -> None:
        await self.container.runner.drain()  # type: ignore[attr-defined]


@pytest.fixture
async def mailbox(settings: Settings, sink: Sink) -> AsyncIterator[Mailbox]:
    container = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                answerer=FirstSentenceAnswerer(),
                                channels={"email": EmailChannel("127.0.0.1", sink.port, SUPPORT,
                                                                files=build_attachments(settings))})
    server = await InboundServer(InboundHandler(container), "127.0.0.1", 0).start()
    yield Mailbox(container, server)
    await server.close()
    await container.runner.drain()  # type: ignore[attr-defined]
    await container.close()


def mail(subject: str, body: str, *, message_id: str, sender: str = f"Ada Lovelace <{CUSTOMER}>",
         references: list[str] | None = None, in_reply_to: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = "Mon, 06 Jan 2025 10:00:00 +0000"
    if references:
        msg["References"] = " ".join(references)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content(body)
    return msg
