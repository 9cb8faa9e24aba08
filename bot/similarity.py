"""Text closeness measures used to judge drafts against what agents sent."""

from __future__ import annotations

from difflib import SequenceMatcher


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance over characters (two rows, O(len(a)·len(b)))."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def similarity(a: str, b: str) -> float:
    """0..1 ratio of matching characters; 1.0 means identical."""
    return round(SequenceMatcher(None, a, b).ratio(), 4)
