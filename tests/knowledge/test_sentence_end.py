"""Where a streamed answer's sentence is complete enough to be checked and shown: not before its citation
marks have arrived, and not at a list number or an abbreviation."""

from __future__ import annotations

from knowledge.llm import sentence_end


def pieces(text: str) -> list[str]:
    out, start = [], 0
    while (end := sentence_end(text, start)) is not None:
        out.append(text[start:end].strip())
        start = end
    return out


def test_a_sentence_ends_after_its_citation_marks_once_the_next_one_begins() -> None:
    assert pieces("Open Settings [1]. Then click Reset [1][2]. And") == ["Open Settings [1].",
                                                                        "Then click Reset [1][2]."]
    assert pieces("Open Settings. [1] Then") == ["Open Settings. [1]"]
    assert pieces("Open Settings [1].") == []  # more marks may follow: the end of the stream decides
    assert pieces("Open Settings. [1") == []


def test_list_numbers_and_abbreviations_do_not_end_a_sentence() -> None:
    steps = '1. Open Settings > Billing. [1]\n2. Click "Cancel subscription". [1]\n3. Confirm'
    assert pieces(steps) == ["1. Open Settings > Billing. [1]", '2. Click "Cancel subscription". [1]']
    assert pieces("Use a card, e.g. Visa or Amex [1]. Next") == ["Use a card, e.g. Visa or Amex [1]."]
