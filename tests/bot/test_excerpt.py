"""Snippets shown to agents: never a word cut in two, and the sentence an answer used inside."""

from __future__ import annotations

import re

from bot.excerpt import excerpt
from bot.ports import Passage

PAGE = ("Acme keeps invoices for seven years. " * 8 + "To export your data, open Settings and choose Export. "
        "The file arrives by email within an hour. " + "Exports older than thirty days are removed. " * 6)


def words_of(text: str) -> set[str]:
    return set(re.findall(r"\w+", text))


def test_a_long_text_is_cut_between_words_with_an_ellipsis() -> None:
    for start in range(0, 120, 7):
        for width in (40, 97, 280):
            shown = excerpt(PAGE, start, width)
            inner = shown.strip("\u2026")
            assert words_of(inner) <= words_of(PAGE)
            first, last = inner.split()[0], inner.split()[-1]
            assert re.search(rf"(^|\s){re.escape(first)}", PAGE) and re.search(rf"{re.escape(last)}(\s|$)", PAGE)
            assert shown.endswith("\u2026") and (start == 0) == (not shown.startswith("\u2026"))


def test_a_short_text_is_shown_whole() -> None:
    assert excerpt("Open Settings.", 5) == "Open Settings."


def test_the_citation_snippet_starts_at_the_sentence_the_answer_used() -> None:
    passage = Passage(id="p1", text=PAGE, title="Exporting your data", source="https://help/export")
    answer = "To export your data, open Settings and choose Export. The file arrives by email within an hour."
    snippet = passage.citation(answer).snippet
    assert snippet.startswith("\u2026To export your data, open Settings and choose Export.")
    assert "The file arrives by email within an hour." in snippet
    assert not passage.citation().snippet.startswith("\u2026")  # no answer given: from the top, whole words
    assert passage.citation().snippet.endswith("\u2026")
