"""One turn confidence from three signals, and the list of signals that fell short."""

from __future__ import annotations

import math

from pydantic import BaseModel

from bot.gates import Thresholds


class Signals(BaseModel):
    category_probability: float = 1.0
    retrieval_score: float = 0.0
    support: float = 0.0


def _retrieval_probability(score: float, floor: float) -> float:
    """Cosine similarity mapped to 0..1, crossing 0.5 at the category's retrieval floor."""
    return 1.0 / (1.0 + math.exp(-12.0 * (score - floor)))


def combine(signals: Signals, thresholds: Thresholds) -> tuple[float, list[str]]:
    """Confidence is the product of the three: any weak signal pulls the whole turn down."""
    confidence = (
        signals.category_probability
        * _retrieval_probability(signals.retrieval_score, thresholds.min_retrieval_score)
        * signals.support
    )
    short: list[str] = []
    if signals.category_probability < thresholds.min_category_probability:
        short.append(
            f"category probability {signals.category_probability:.2f} < {thresholds.min_category_probability:.2f}"
        )
    if signals.retrieval_score < thresholds.min_retrieval_score:
        short.append(f"retrieval score {signals.retrieval_score:.2f} < {thresholds.min_retrieval_score:.2f}")
    if signals.support < thresholds.min_support:
        short.append(f"answer support {signals.support:.2f} < {thresholds.min_support:.2f}")
    if confidence < thresholds.min_confidence:
        short.append(f"confidence {confidence:.2f} < {thresholds.min_confidence:.2f}")
    return round(confidence, 4), short
