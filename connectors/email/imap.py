"""Reading support mailboxes over IMAP (imap-tools): IDLE when the server has it, polling otherwise.

Exactly once across restarts: messages are taken in UID order after the last UID handled (kept in Redis
with the folder's UIDVALIDITY); a message is marked \\Seen or moved only after its turn was handled, and the
cursor moves after that. A crash between handling and marking re-reads the message on the next start, and
the dialogue manager recognises its Message-ID, so it is not answered twice. The first run of a mailbox (or
one whose UIDVALIDITY changed) takes the unseen messages only.

imap-tools is a blocking client: each call runs in a thread, while the turns run on the event loop.
"""

from __future__ import annotations

import asyncio
import imaplib
import logging
import random
import select
import ssl
import threading
import time
from typing import Any

from imap_tools import AND, BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessageFlags
from imap_tools.errors import ImapToolsError

from connectors.email.cursor import UidCursor
from connectors.email.intake import MailIntake, Outcome
from connectors.email.mailboxes import ImapMailbox
from connectors.email.oauth import TokenError, TokenProvider, XOAuth2, token_provider

log = logging.getLogger(__name__)

_NEWS = ("EXISTS", "RECENT")  # untagged responses that announce new mail

def _open(mailbox: ImapMailbox) -> BaseMailBox:
    if mailbox.tls == "ssl":
        return MailBox(mailbox.host, mailbox.effective_port, timeout=mailbox.timeout,
                       ssl_context=ssl.create_default_context(cafile=mailbox.ca_file))
    if mailbox.tls == "starttls":
        return MailBoxStartTls(mailbox.host, mailbox.effective_port, timeout=mailbox.timeout,
                               ssl_context=ssl.create_default_context(cafile=mailbox.ca_file))
    return MailBoxUnencrypted(mailbox.host, mailbox.effective_port, timeout=mailbox.timeout)


def tokens_for(mailbox: ImapMailbox) -> TokenProvider | None:
    """The mailbox's OAuth2 tokens, one cache for every connection this process opens to it."""
    if mailbox.oauth2 is None:
        return None
    if mailbox._tokens is None:
        mailbox._tokens = token_provider(mailbox.oauth2, mailbox.username)
    return mailbox._tokens


class TokenRejected(imaplib.IMAP4.error):
    """The server refused the access token (revoked, expired early, or without the mail scope)."""


def _sign_in_xoauth2(client: BaseMailBox, username: str, token: str, folder: str) -> BaseMailBox:
    sasl = XOAuth2(username, token)
    try:
        client.client.authenticate("XOAUTH2", lambda challenge: sasl(challenge).encode())
    except imaplib.IMAP4.error as error:
        raise TokenRejected(f"{error}; the server said {sasl.error or 'no more'}") from error
    client.folder.set(folder)
    return client


def connect(mailbox: ImapMailbox, tokens: TokenProvider | None = None) -> BaseMailBox:
    """A logged-in client with the mailbox's folder selected. With OAuth2, a refused token is refreshed once
    and tried again on a new connection; a second refusal is raised."""
    tokens = tokens or tokens_for(mailbox)
    if tokens is None:
        return _open(mailbox).login(mailbox.username, mailbox.password, initial_folder=mailbox.folder)
    for refresh in (False, True):
        token = tokens.token(refresh=refresh)
        client = _open(mailbox)
        try:
            return _sign_in_xoauth2(client, mailbox.username, token, mailbox.folder)
        except TokenRejected as error:
            _logout(client)
            if refresh:
                raise
            log.info("IMAP %s: token refused (%s); refreshing it", mailbox.name, error)
    raise AssertionError("unreachable")


def _logout(client: BaseMailBox) -> None:
    try:
        client.logout()
    except Exception:  # the connection may already be gone
        pass


def append_copy(mailbox: ImapMailbox, data: bytes, folder: str) -> None:
    """Put a sent reply into the mailbox's Sent folder, so people working the mailbox see it."""
    client = connect(mailbox)
    try:
        client.append(data, folder, flag_set=[MailMessageFlags.SEEN])
    finally:
        _logout(client)


def fetch_raw(client: BaseMailBox, uid: int) -> bytes | None:
    """The message as stored, byte for byte, without setting \\Seen (BODY.PEEK)."""
    typ, data = client.client.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"FETCH {uid}: {typ} {data!r}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None  # expunged meanwhile


def backoff_seconds(failures: int, base: float = 1.0, ceiling: float = 60.0) -> float:
    """Exponential with full jitter, so many processes do not reconnect in step."""
    return random.uniform(0, min(ceiling, base * 2 ** max(0, failures - 1)))


class ImapWatcher:
    """One mailbox, watched until `stop` is set."""

    def __init__(self, mailbox: ImapMailbox, intake: MailIntake, cursor: UidCursor, *,
                 backoff_base: float = 1.0, backoff_ceiling: float = 60.0,
                 tokens: TokenProvider | None = None) -> None:
        self.mailbox = mailbox
        self.tokens = tokens or tokens_for(mailbox)  # None: password
        self.intake = intake
        self.cursor = cursor
        self.backoff_base = backoff_base
        self.backoff_ceiling = backoff_ceiling
        self.stop = threading.Event()
        self.connections = 0  # how many sessions were opened (a reconnect opens another)
        self.use_idle = True  # off: poll even where the server has IDLE

    async def run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            try:
                client = await asyncio.to_thread(connect, self.mailbox, self.tokens)
            except TokenError as error:  # the mail stays in the mailbox, unseen, until a sign-in works
                failures += 1
                log.error("IMAP %s: %s", self.mailbox.name, error)
                await self._pause(failures, error)
                continue
            except (OSError, imaplib.IMAP4.error, ImapToolsError) as error:
                failures += 1
                await self._pause(failures, error)
                continue
            self.connections += 1
            try:
                await self._session(client)
                failures = 0
            except Exception as error:  # a dropped connection, or a turn that failed (Redis away): retry later
                failures += 1
                await self._pause(failures, error)
            finally:
                await asyncio.to_thread(_logout, client)

    async def _pause(self, failures: int, error: BaseException) -> None:
        delay = backoff_seconds(failures, self.backoff_base, self.backoff_ceiling)
        log.warning("IMAP %s: %s; reconnecting in %.1f s (attempt %d)", self.mailbox.name, error, delay,
                    failures)
        await asyncio.to_thread(self.stop.wait, delay)

    async def _session(self, client: BaseMailBox) -> None:
        idle = self.use_idle and "IDLE" in client.client.capabilities
        log.warning("IMAP %s: connected, %s", self.mailbox.name, "waiting with IDLE" if idle else
                    f"polling every {self.mailbox.poll_seconds:g} s")
        while not self.stop.is_set():
            await self.drain(client)
            if idle:
                await asyncio.to_thread(self._idle, client)
            else:
                await asyncio.to_thread(self.stop.wait, self.mailbox.poll_seconds)
                await asyncio.to_thread(client.client.noop)  # fails here when the server is gone

    def _idle(self, client: BaseMailBox) -> None:
        """IDLE until the server reports a change, the renewal time passes, or we are told to stop. The wait
        is a select() on the socket in one-second steps, so a stop is noticed and a dropped connection
        (EOF) ends the session instead of hanging it."""
        client.idle.start()
        deadline = time.monotonic() + self.mailbox.idle_seconds
        arrived = any(kind in client.client.untagged_responses for kind in _NEWS)  # since the last search
        while not arrived and not self.stop.is_set() and time.monotonic() < deadline:
            readable, _, _ = select.select([client.client.sock], [], [], 1.0)
            if readable:
                line = client.client.readline()
                if not line:
                    raise EOFError("the server closed the connection")
                if line.startswith(b"* BYE"):
                    raise EOFError(line.decode("ascii", "replace").strip())
                arrived = True
        client.idle.stop()

    async def drain(self, client: BaseMailBox) -> None:
        """Handle every message not handled yet, oldest first."""
        status = await asyncio.to_thread(client.folder.status, self.mailbox.folder, ["UIDVALIDITY"])
        validity = int(status["UIDVALIDITY"])
        last = await self.cursor.last(validity)
        for kind in _NEWS:  # what the server reported so far is covered by the search below
            client.client.untagged_responses.pop(kind, None)
        criteria: Any = AND(uid=f"{last + 1}:*") if last is not None else AND(seen=False)
        found = await asyncio.to_thread(client.uids, criteria)
        for uid in sorted(int(u) for u in found if last is None or int(u) > last):
            if self.stop.is_set():
                return
            await self._one(client, validity, uid)

    async def _one(self, client: BaseMailBox, validity: int, uid: int) -> None:
        raw = await asyncio.to_thread(fetch_raw, client, uid)
        if raw is not None:
            try:
                outcome = await self.intake.receive(raw, mailbox=self.mailbox.name)
            except ValueError as error:  # can never be answered: keep it, flagged for a person
                log.warning("IMAP %s: message UID %d cannot be answered (%s); flagged and left in %s",
                            self.mailbox.name, uid, error, self.mailbox.folder)
                await asyncio.to_thread(client.flag, str(uid), [MailMessageFlags.FLAGGED, MailMessageFlags.SEEN],
                                        True)
                await self.cursor.advance(validity, uid)
                return
            await asyncio.to_thread(self._done, client, uid, outcome)
        await self.cursor.advance(validity, uid)

    def _done(self, client: BaseMailBox, uid: int, outcome: Outcome) -> None:
        if self.mailbox.move_to and outcome is Outcome.HANDLED:
            client.move(str(uid), self.mailbox.move_to)
        else:
            client.flag(str(uid), [MailMessageFlags.SEEN], True)
