"""One path for every received mail, whichever way it arrived (SMTP, IMAP, a provider's webhook): convert,
skip what a machine wrote, limit loops, then start or continue the thread's conversation and run the turn."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot import messages
from bot.files import Attachment
from connectors.email.convert import CHANNEL, MAX_TEXT_CHARS, SLOT_MESSAGE_ID, SLOT_REFERENCES, InboundEmail, to_message
from connectors.email.loops import SenderLoopGuard

if TYPE_CHECKING:
    from service.container import Container

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    HANDLED = "handled"  # stored, and answered or handed off
    AUTOMATIC = "automatic"  # written by a machine: kept out of the conversation, not answered
    LOOP = "loop"  # over the sender's limit: not answered


class MailIntake:
    """Raises ValueError for mail that can never be answered (no usable sender); any other exception is
    temporary, and the mail should be offered again later (it is recognised if it was handled after all)."""

    def __init__(self, container: "Container", *, max_chars: int = MAX_TEXT_CHARS,
                 loop_guard: SenderLoopGuard | None = None) -> None:
        self.container = container
        self.max_chars = max_chars
        settings = container.settings
        self.loop_guard = loop_guard or SenderLoopGuard(
            container.redis, settings.redis_prefix, limit=settings.email_loop_limit,
            window_seconds=settings.email_loop_minutes * 60)

    async def receive(self, raw: bytes, *, envelope_sender: str | None = None, mailbox: str = "") -> Outcome:
        """`envelope_sender` is SMTP's MAIL FROM where there was one; empty (`<>`) means a bounce. `mailbox`
        names the IMAP mailbox the mail was read from (replies are copied to its Sent folder)."""
        inbound = to_message(raw, max_chars=self.max_chars)
        if mailbox:
            inbound = inbound.model_copy(update={"mailbox": mailbox})
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
        settings, store = self.container.settings, self.container.attachments
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
        """Start or continue the thread's conversation, remember how to reply in-thread, then run the turn."""
        dialogue, store = self.container.dialogue, self.container.store
        await dialogue.start(CHANNEL, inbound.message.sender, conversation_id=inbound.conversation_id)
        async with store.lock(inbound.conversation_id):
            state = await store.load(inbound.conversation_id)
            if state is not None and _is_newer(state.slots, inbound):
                state.slots.update(inbound.thread_slots())
                await store.save(state)
        await dialogue.handle(inbound.message)


def _is_newer(slots: dict[str, Any], inbound: InboundEmail) -> bool:
    """A re-delivered older mail must not pull replies back to an earlier point of the thread."""
    if not inbound.message_id:
        return True
    return inbound.message_id != slots.get(SLOT_MESSAGE_ID) and \
        inbound.message_id not in (slots.get(SLOT_REFERENCES) or ())
