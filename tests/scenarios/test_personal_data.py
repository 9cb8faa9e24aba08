"""Customers' card numbers, CVVs, emails, phone numbers and IBANs never reach a language model, the turn
journal or an outside webhook; the agent answering them still sees what they wrote."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.privacy import Redactor
from bot.types import EscalationReason, Handoff, Message
from service.container import Container
from service.webhook import WebhookNotifier
from tests.fakes.openai_api import FakeOpenAI
from tests.net import QuietHandler, serve_in_background
from tests.scenarios.test_llm_citation_gate import CUSTOMER, ask, bot, llm  # noqa: F401  (fixtures)

CARD = "4111 1111 1111 1111"
WRITTEN = f"reset password: card {CARD} cvv 123 ada@example.com"


@pytest.mark.parametrize(("text", "redacted"), [
    (f"card {CARD}", "card [card number]"),
    ("card 4111-1111-1111-1112", "card 4111-1111-1111-1112"),  # fails the Luhn check: an order number
    ("cvc: 987", "cvc: [CVV]"),
    ("write to ada.lovelace+help@example.co.uk", "write to [email address]"),
    ("call +31 20 555 0142 after 5", "call [phone number] after 5"),
    ("IBAN NL91 ABNA 0417 1643 00", "IBAN [IBAN]"),
    ("Order 12345 of 2024-01-15 costs $25.50", "Order 12345 of 2024-01-15 costs $25.50"),
])
def test_redactor(text: str, redacted: str) -> None:
    assert Redactor()(text) == redacted
    assert Redactor([])(text) == text


def test_a_redactor_that_remembers_its_texts_still_redacts_each_its_own_way() -> None:
    """The remembered redactions are per redactor (per configured kinds) and survive a full memory."""
    everything, cards_only = Redactor(), Redactor(["card"])
    for _ in range(2):
        assert everything(WRITTEN) == "reset password: card [card number] cvv [CVV] [email address]"
        assert cards_only(WRITTEN) == "reset password: card [card number] cvv 123 ada@example.com"
    for n in range(Redactor.REMEMBERED + 10):
        assert everything(f"mail {n}@example.com") == "mail [email address]"
    assert everything(WRITTEN) == "reset password: card [card number] cvv [CVV] [email address]"


async def test_the_model_and_the_journal_see_no_card_number(bot: Container, llm: FakeOpenAI) -> None:
    llm.replies.append("To reset your password open Settings, choose Security and click Reset password [1].")
    earlier = Message(conversation_id="c", channel="web", sender=CUSTOMER, text=WRITTEN)
    question = Message(conversation_id="c", channel="web", sender=CUSTOMER,
                       text=f"How do I reset my password? Card {CARD}")
    await bot.dialogue.responder.respond(question, [earlier])
    prompt = json.dumps(llm.requests[-1])
    assert CARD not in prompt and "cvv 123" not in prompt and "ada@example.com" not in prompt
    assert "[card number]" in prompt and "[email address]" in prompt and "cvv [CVV]" in prompt

    turn = await ask(bot, WRITTEN)
    [journal] = await bot.journal.entries("turn")
    assert CARD not in json.dumps(journal) and "[card number]" in journal["question"]
    transcript = await bot.store.history(turn.replies[0].conversation_id)
    assert transcript[0].message.text == WRITTEN  # the agent who answers sees what the customer wrote


async def test_the_webhook_gets_no_card_number() -> None:
    received: list[dict[str, Any]] = []

    class Hook(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

    server = serve_in_background(Hook)
    try:
        notifier = WebhookNotifier(f"http://127.0.0.1:{server.server_address[1]}/hook")
        handoff = Handoff(id="h1", conversation_id="c1", channel="web", reason=EscalationReason.REQUESTED,
                          question=WRITTEN)
        await notifier.handoff_opened(handoff)
    finally:
        server.shutdown()
    assert CARD not in received[0]["text"] and "[card number]" in received[0]["text"]
