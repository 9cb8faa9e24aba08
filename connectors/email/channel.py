"""The email push channel: the `deliver` job mails each outgoing message to the customer, in their thread."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import parseaddr
from typing import TYPE_CHECKING

from bot.files import AttachmentStore
from bot.types import ConversationState, Message, Role
from connectors.email.convert import (
    CHANNEL,
    SLOT_MAILBOX,
    SLOT_MESSAGE_ID,
    SLOT_REFERENCES,
    SLOT_SUBJECT,
    header_safe,
    render,
)
from connectors.email.files import attach_files
from connectors.email.mailboxes import ImapMailbox
from connectors.email.oauth import TokenProvider, XOAuth2, token_provider

if TYPE_CHECKING:
    from service.settings import Settings

log = logging.getLogger(__name__)


class NotAnEmailConversation(LookupError):
    """The conversation's customer has no mail address to reply to (it was not started by email)."""


class EmailChannel:
    name = CHANNEL

    def __init__(self, host: str, port: int, sender: str, *, username: str | None = None,
                 password: str | None = None, starttls: bool = False, timeout: float = 30.0,
                 mailboxes: Sequence[ImapMailbox] = (), files: AttachmentStore | None = None,
                 tokens: TokenProvider | None = None) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.tokens = tokens  # set: sign in with XOAUTH2 as `username` (or the sender's address)
        self.starttls = starttls
        self.timeout = timeout
        self.domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        self.mailboxes = {m.name: m for m in mailboxes}
        self.files = files  # where the files agents attach to replies are read from

    @classmethod
    def from_settings(cls, settings: "Settings", files: AttachmentStore | None = None) -> "EmailChannel":
        if not settings.smtp_host:
            raise ValueError("SUPPORTBOT_SMTP_HOST is required for the email channel")
        oauth2 = settings.email_oauth2
        tokens = token_provider(oauth2, settings.smtp_username or parseaddr(settings.smtp_from)[1]) if oauth2 else None
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_from,
                   username=settings.smtp_username, password=settings.smtp_password,
                   starttls=settings.smtp_starttls, mailboxes=settings.imap_mailboxes, files=files, tokens=tokens)

    def compose(self, conversation: ConversationState, message: Message) -> EmailMessage:
        recipient = conversation.customer.id
        if "@" not in recipient:
            raise NotAnEmailConversation(conversation.id)
        slots = conversation.slots
        mail = render(message, str(slots.get(SLOT_SUBJECT) or ""), str(slots.get(SLOT_MESSAGE_ID) or ""),
                      [str(ref) for ref in slots.get(SLOT_REFERENCES) or ()])
        mail["From"] = self.from_header(message)
        mail["To"] = Address(conversation.customer.name, addr_spec=recipient)
        # Derived from the message id: a retried delivery carries the same id, so clients show it once.
        mail["Message-ID"] = f"<{message.id}.{conversation.id[:12]}@{self.domain}>"
        return mail

    def from_header(self, message: Message) -> str:
        """An agent writes as themselves ("Alice Smith (Acme Support)" at the support address), so the
        customer knows a person answered; the bot and system messages use the configured sender as is."""
        name = message.sender.name.strip()
        if message.sender.role is not Role.AGENT or not name:
            return self.sender
        team, address = parseaddr(self.sender)
        label = f"{name} ({team})" if team and team != name else name
        return str(Address(header_safe(label), addr_spec=address))

    async def send(self, conversation: ConversationState, message: Message) -> None:
        if message.internal:
            return
        mail = self.compose(conversation, message)
        if self.files is not None:
            await attach_files(mail, message.attachments, self.files)
        await asyncio.to_thread(self._send_blocking, mail, conversation.customer.id)
        mailbox = self.mailboxes.get(str(conversation.slots.get(SLOT_MAILBOX) or ""))
        if mailbox is not None and mailbox.sent_folder:
            await asyncio.to_thread(self._copy_to_sent, mailbox, mailbox.sent_folder, mail)

    @staticmethod
    def _copy_to_sent(mailbox: ImapMailbox, folder: str, mail: EmailMessage) -> None:
        """Best effort: the reply is already on its way, so a failure here is logged, never retried (a
        retry of the delivery would mail the customer twice)."""
        from connectors.email.imap import append_copy

        try:
            append_copy(mailbox, mail.as_bytes(policy=SMTP), folder)
        except Exception:
            log.warning("reply %s sent, but not copied to %s of %s", mail["Message-ID"], folder, mailbox.name,
                        exc_info=True)

    def _send_blocking(self, mail: EmailMessage, recipient: str) -> None:
        for refresh in (False, True):
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                try:
                    self._sign_in(smtp, refresh)
                except smtplib.SMTPAuthenticationError as error:
                    if self.tokens is None or refresh:
                        raise
                    log.info("SMTP %s: token refused (%s); refreshing it", self.host, error)
                    continue
                smtp.send_message(mail, from_addr=parseaddr(self.sender)[1], to_addrs=[recipient])
                return

    def _sign_in(self, smtp: smtplib.SMTP, refresh: bool) -> None:
        """Password (AUTH PLAIN/LOGIN) or, with tokens, XOAUTH2; a refused token is refreshed once."""
        if self.tokens is not None:
            smtp.ehlo_or_helo_if_needed()
            user = self.username or parseaddr(self.sender)[1]
            smtp.auth("XOAUTH2", XOAuth2(user, self.tokens.token(refresh=refresh)))
        elif self.username:
            smtp.login(self.username, self.password or "")
