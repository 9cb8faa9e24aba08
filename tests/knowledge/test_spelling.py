"""Customers' typos are corrected towards the help centre's words; real words, names and codes are not."""

from __future__ import annotations

from collections import Counter

from knowledge.spelling import QuerySpeller
from knowledge.text import words

HELP_CENTRE = """Cancel your subscription from Settings, Billing. Refunds take 5 to 10 business days.
Reset your password from the sign-in page. Export your data as a ZIP archive. Support is open on weekdays.
Two-factor authentication protects your account."""


def speller() -> QuerySpeller:
    return QuerySpeller(Counter(words(HELP_CENTRE)))


def test_typos_become_the_help_centres_words() -> None:
    fix = speller().correct
    assert fix("how do i cancle my subcsription?") == "how do i cancel my subscription?"
    assert fix("how long do rfeunds take") == "how long do refunds take"
    assert fix("Can I expotr my data?") == "Can I export my data?"
    assert fix("turn on two-facotr authentciation") == "turn on two-factor authentication"


def test_real_words_names_and_codes_are_left_alone() -> None:
    fix = speller().correct
    for text in ("Does it work with Plivo?", "how do you pronounce Vallabhbhai?", "Is Sweden neutral?",
                 "error E1042 on checkout", "Can I pay by cheque?"):
        assert fix(text) == text


def test_a_short_word_takes_one_edit_at_most() -> None:
    assert speller().correct_word("rfnds") == "rfnds"  # two edits from "refunds" is too far for a short word
