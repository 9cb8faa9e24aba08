"""Greetings, introductions, sign-offs and signatures come off a question; the question itself never does."""

from __future__ import annotations

import pytest

from bot.pleasantries import core_question


@pytest.mark.parametrize("text", [
    "Hi, how long do refunds take?",
    "Hello there! How long do refunds take?",
    "How long do refunds take? Thanks!",
    "How long do refunds take? Cheers, Jo",
    "How long do refunds take?\n– Jo",
    "Hi, this is Priya from the design team. How long do refunds take?",
    "How long do refunds take?\n\nKind regards,\nMarco Rossi",
    "hey team, How long do refunds take? thanks in advance",
    "Good morning, How long do refunds take? Many thanks - Sam",
    "Hi, how long do refunds take? Thanks! – Jo",
])
def test_the_question_is_what_is_left(text: str) -> None:
    assert core_question(text).lower() == "how long do refunds take?"


@pytest.mark.parametrize("text", [
    "How do I configure SSO with Okta",
    "Is the Pro plan billed monthly? I'm on the Pro plan.",
    "thanks",
    "Hi there!",
    "Thanks for nothing, this did not help",
    "Can I pay in advance",
    "How do I add Bob Smith to my team?",
])
def test_a_question_or_a_message_that_is_only_politeness_is_kept(text: str) -> None:
    assert core_question(text) == text.strip()
