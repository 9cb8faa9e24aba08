"""How much a word says: its information in general English, from word frequencies (wordfreq).

"Is Sweden politically neutral?" asked of a page about Sweden: the page holds "Sweden" but not "neutral", and
that missing word is what the question turns on. Weighting a question's words by how rare they are in English
(not in one help centre) tells such a question from a rephrasing, and carries to any help centre unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from wordfreq import zipf_frequency

from knowledge.text import ASKING_WORDS, stem, words

_COMMONEST = 7.0  # Zipf frequency of "the", "of": no information


@lru_cache(maxsize=65536)
def rarity(word: str) -> float:
    """0 for the commonest words, 1 for words English never uses (names, codes, typos)."""
    return max(0.0, _COMMONEST - zipf_frequency(word, "en")) / _COMMONEST


def weighted_terms(text: str) -> dict[str, float]:
    """A question's key terms (stemmed, as `key_terms`) with the rarity of their rarest spelling."""
    out: dict[str, float] = {}
    for w in words(text):
        if w in ASKING_WORDS or (len(w) < 2 and not w.isdigit()):
            continue
        key = stem(w)
        out[key] = max(out.get(key, 0.0), rarity(w))
    return out


def coverage(terms: dict[str, float], found: Iterable[str]) -> tuple[float, float]:
    """The rarity-weighted share of `terms` among `found`, and the rarity of the rarest term missing."""
    present = set(found)
    total = sum(terms.values())
    if not terms or total <= 0:
        return 0.5, 0.0
    missing = [r for t, r in terms.items() if t not in present]
    return 1.0 - sum(missing) / total, max(missing, default=0.0)
