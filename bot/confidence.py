"""One turn confidence from three signals, and the list of signals that fell short.

Without a calibration the confidence is the product of the signals: it ranks turns, but 0.6 does not mean
six in ten such answers are right. `supportbot train confidence` fits a `Calibration` on turns agents
reviewed (and answers customers confirmed); with it, the confidence is the probability that an agent would
have sent the answer as it stands, so a floor of 0.8 means what it says.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from bot.gates import Thresholds


class Signals(BaseModel):
    category_probability: float = 1.0
    retrieval_score: float = 0.0
    support: float = 0.0
    grounding: float = 1.0


def _retrieval_probability(score: float, floor: float) -> float:
    """Cosine similarity mapped to 0..1, crossing 0.5 at the category's retrieval floor."""
    return 1.0 / (1.0 + math.exp(-12.0 * (score - floor)))


def _logit(p: float) -> float:
    p = min(max(p, 0.001), 0.999)
    return math.log(p / (1.0 - p))


class Calibration(BaseModel):
    """Platt scaling of the product: P(accepted as it stands) = σ(slope · logit(product) + intercept).

    One curve over the product rather than a weight per signal: the product already ranks turns well, what it
    lacks is scale, and two parameters can be fitted from a few dozen reviews without overfitting.
    """

    slope: float
    intercept: float
    samples: int = Field(0, ge=0)
    accepted: int = Field(0, ge=0)

    def probability(self, product: float) -> float:
        z = self.slope * _logit(product) + self.intercept
        return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


def raw_confidence(signals: Signals, thresholds: Thresholds) -> float:
    """The product of the signals: any weak one pulls the whole turn down."""
    return (signals.category_probability
            * _retrieval_probability(signals.retrieval_score, thresholds.min_retrieval_score)
            * signals.support * signals.grounding)


def combine(signals: Signals, thresholds: Thresholds,
            calibration: Calibration | None = None) -> tuple[float, list[str]]:
    """The turn's confidence (calibrated when a calibration is given) and each signal under its floor."""
    confidence = raw_confidence(signals, thresholds)
    if calibration is not None:
        confidence = calibration.probability(confidence)
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
