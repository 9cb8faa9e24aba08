"""One path for every received mail, whichever way it arrived (SMTP, IMAP, a provider's webhook): convert,
skip what a machine wrote, limit loops, then start or continue the thread's conversation and run the turn.

A mail continues a thread's conversation only when its sender is that conversation's customer: the thread is
found by the ids in In-Reply-To/References, which anyone can copy, and the display name in From proves
nothing. A stranger's reply starts a conversation of its own, with a note for agents."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any, Protocol

from redis.asyncio import Redis

from bot import messages
from bot.actions import Identity
from bot.dialogue import SYSTEM, DialogueManager
from bot.files import Attachment, AttachmentStore
from bot.types import ConversationState
from connectors.email.convert import (
    CHANNEL,
    MAX_TEXT_CHARS,
    SLOT_MESSAGE_ID,
    SLOT_REFERENCES,
    SLOT_SUBJECT,
    InboundEmail,
    same_address,
    stranger_conversation_id,
    to_message,
)
from connectors.email.loops import SenderLoopGuard

log = logging.getLogger(__name__)


class MailSettings(Protocol):
    """The settings the intake reads."""

    @property
    def redis_prefix(self) -> str: ...
    @property
    def email_loop_limit(self) -> int: ...
    @property
    def email_loop_minutes(self) -> float: ...
    @property
    def attachments_per_message(self) -> int: ...
    @property
    def attachment_max_bytes(self) -> int: ...


class MailServices(Protocol):
    """What the intake uses of the application, handed in by the composition root (its container is one),
    so this connector never imports the service that imports it."""

    @property
    def settings(self) -> MailSettings: ...
    @property
    def redis(self) -> Redis: ...
    @property
    def dialogue(self) -> DialogueManager: ...
    @property
    def attachments(self) -> AttachmentStore: ...


class Outcome(StrEnum):
    HANDLED = "handled"  # stored, and answered or handed off
    AUTOMATIC = "automatic"  # written by a machine: kept out of the conversation, not answered
    LOOP = "loop"  # over the sender's limit: not answered


class MailIntake:
    """Raises ValueError for mail that can never be answered (no usable sender); any other exception is
    temporary, and the mail should be offered again later (it is recognised if it was handled after all)."""

    def __init__(self, services: MailServices, *, max_chars: int = MAX_TEXT_CHARS,
                 loop_guard: SenderLoopGuard | None = None) -> None:
        self.settings = services.settings
        self.dialogue = services.dialogue
        self.files = services.attachments
        self.max_chars = max_chars
        self.loop_guard = loop_guard or SenderLoopGuard(
            services.redis, self.settings.redis_prefix, limit=self.settings.email_loop_limit,
            window_seconds=self.settings.email_loop_minutes * 60)

    async def receive(self, raw: bytes, *, envelope_sender: str | None = None, mailbox: str = "",
                      sender_verified: bool = False) -> Outcome:
        """`envelope_sender` is SMTP's MAIL FROM where there was one; empty (`<>`) means a bounce. `mailbox`
        names the IMAP mailbox the mail was read from (replies are copied to its Sent folder).
        `sender_verified`: the mail provider reports SPF and DKIM passing for the sender's domain."""
        inbound = to_message(raw, max_chars=self.max_chars)
        if mailbox or sender_verified:
            inbound = inbound.model_copy(update={"mailbox": mailbox, "sender_verified": sender_verified})
        return await self.receive_converted(inbound, envelope_sender=envelope_sender)

    async def receive_converted(self, inbound: InboundEmail, *, envelope_sender: str | None = None) -> Outcome:
        sender = inbound.message.sender.id
        reason = inbound.automatic
        if not reason and envelope_sender is not None and envelope_sender in ("", "<>"):
            reason = "empty envelope sender (a bounce)"
        if reason:
            log.warning("not answering automatic mail %s from %s: %s", inbound.message_id, sender, reason)
            return Outcome.AUTOMATIC
        if not await self.loop_guard.allow(sender):
            log.warning("not answering mail %s from %s: more than %d mails from this address in %d s "
                        "(a mail loop?)", inbound.message_id, sender, self.loop_guard.limit,
                        self.loop_guard.window_seconds)
            return Outcome.LOOP
        await self.accept(await self.attach(inbound))
        return Outcome.HANDLED

    async def attach(self, inbound: InboundEmail) -> InboundEmail:
        """Keep the mail's files and list them with the message; a file over the limits is listed as not
        kept. A mail that is only files goes to a person: the bot cannot read them."""
        if not inbound.files:
            return inbound
        settings, store = self.settings, self.files
        kept: list[Attachment] = []
        for index, (name, data) in enumerate(inbound.files):
            if index >= settings.attachments_per_message:
                kept.append(Attachment.refused(name, len(data), messages.attachment_too_many(
                    settings.attachments_per_message)))
            elif len(data) > settings.attachment_max_bytes:
                kept.append(Attachment.refused(name, len(data), messages.attachment_too_large(
                    settings.attachment_max_bytes)))
            else:
                kept.append(await store.put(data, name))
        message = inbound.message.model_copy(update={
            "attachments": tuple(kept), "asks_for_person": inbound.message.asks_for_person or inbound.wrote_nothing})
        return inbound.model_copy(update={"message": message, "files": []})

    async def accept(self, inbound: InboundEmail) -> None:
        """Start or continue the conversation (the thread's, or the sender's own when the thread belongs to
        someone else), remember how to reply in-thread, then run the turn."""
        dialogue, store = self.dialogue, self.dialogue.store
        thread = await store.load(inbound.conversation_id)
        others = thread if thread is not None and not _is_customer(thread, inbound) else None
        if others is not None:
            log.warning("mail %s from %s refers to conversation %s of another customer; kept apart",
                        inbound.message_id, inbound.message.sender.id, others.id)
            inbound = inbound.moved_to(stranger_conversation_id(others.id, inbound.message.sender.id))
        async with store.lock(inbound.conversation_id):
            state = await store.load(inbound.conversation_id)
            if state is None:
                state = await dialogue.start(CHANNEL, inbound.message.sender, conversation_id=inbound.conversation_id)
                if others is not None:
                    await dialogue.say(state, stranger_note(inbound, others), SYSTEM, internal=True)
            identity = sender_identity(inbound)
            if identity != state.identity:  # each mail proves its own sender: a forged one proves nothing
                state.identity = identity
                await store.save(state)
            if _is_newer(state.slots, inbound):
                state.slots.update(_thread_update(state.slots, inbound))
                await store.save(state)
        await dialogue.handle(inbound.message)


def _is_customer(state: ConversationState, inbound: InboundEmail) -> bool:
    """Only the address that opened a thread continues it (an email conversation's customer is its sender)."""
    return state.channel == CHANNEL and same_address(state.customer.id, inbound.message.sender.id)


def stranger_note(inbound: InboundEmail, thread: ConversationState) -> str:
    """For agents, on the stranger's conversation: never mailed to anyone."""
    return (f"This mail from {inbound.message.sender.id} replied to the thread {inbound.thread_root} of "
            f"conversation {thread.id}, whose customer is {thread.customer.id}. Only that address continues "
            "the thread, so this mail started a conversation of its own. The sender may be posing as that "
            "customer: check before acting on it.")


def _thread_update(slots: dict[str, Any], inbound: InboundEmail) -> dict[str, Any]:
    """Replies follow the thread's latest mail, under the subject the conversation started with: a mail
    cannot change what we write in the Subject of mail to the customer."""
    update = inbound.thread_slots()
    if SLOT_SUBJECT in slots:
        del update[SLOT_SUBJECT]
    return update


def _is_newer(slots: dict[str, Any], inbound: InboundEmail) -> bool:
    """A re-delivered older mail must not pull replies back to an earlier point of the thread."""
    if not inbound.message_id:
        return True
    return inbound.message_id != slots.get(SLOT_MESSAGE_ID) and \
        inbound.message_id not in (slots.get(SLOT_REFERENCES) or ())


def sender_identity(inbound: InboundEmail) -> Identity:
    """The sender as the mail provider vouches for them; a mail nobody vouches for is anonymous."""
    if not inbound.sender_verified:
        return Identity()
    address = inbound.message.sender.id
    return Identity(verified=True, user_id=address, email=address, source="email-dkim")
