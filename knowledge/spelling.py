"""Customers' typos corrected towards the help centre's own words, before search and composing.

"cancle my subcsription" finds nothing: the encoder reads the misspelt words as different ones and BM25 has
no such terms. A word is corrected only when the help centre never uses it and English hardly does (so
names, codes and real words are left alone), and only to a word the help centre uses, one edit away (two
for long words): SymSpell finds it among the pre-computed deletions of the vocabulary in microseconds.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from symspellpy import SymSpell, Verbosity
from wordfreq import zipf_frequency

_WORD = re.compile(r"[A-Za-z]{4,}")
KNOWN_IN_ENGLISH = 3.0  # Zipf frequency above which a word is a real word, not a typo ("pronounce": 3.7)
LONG_WORD = 7  # letters from which two edits are allowed


class QuerySpeller:
    """Corrects the words of a question that the help centre and English do not know."""

    def __init__(self, vocabulary: Counter[str]) -> None:
        self.vocabulary = {w for w in vocabulary if w.isalpha() and len(w) >= 3}
        self.symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word in self.vocabulary:
            self.symspell.create_dictionary_entry(word, vocabulary[word])
        self._seen: dict[str, str] = {}
        zipf_frequency("the", "en")  # loads the frequency table now, not in a customer's turn

    @classmethod
    def of_texts(cls, texts: Iterable[list[str]]) -> QuerySpeller:
        """From tokenised texts (lower-cased words, as the lexical index holds them)."""
        return cls(Counter(word for words in texts for word in words))

    def correct_word(self, word: str) -> str:
        lower = word.lower()
        if lower in self.vocabulary:
            return word
        if lower not in self._seen:
            self._seen[lower] = self._suggest(lower)
        return self._seen[lower]

    def _suggest(self, lower: str) -> str:
        if zipf_frequency(lower, "en") >= KNOWN_IN_ENGLISH:
            return lower
        distance = 2 if len(lower) >= LONG_WORD else 1
        found = self.symspell.lookup(lower, Verbosity.TOP, max_edit_distance=distance)
        return found[0].term if found else lower

    def correct(self, text: str) -> str:
        """The text with each unknown word replaced by its correction (other words and spacing untouched)."""
        if len(self._seen) > 50_000:  # customers' words are unbounded: keep the memo small
            self._seen.clear()
        return _WORD.sub(lambda m: self._fix(m.group(0)), text)

    def _fix(self, word: str) -> str:
        fixed = self.correct_word(word)
        return word if fixed == word.lower() else fixed
