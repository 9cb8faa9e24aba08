"""Whether the composed answer answers the question: a logistic model fitted on real conversations.

The composer measures each answer (how many of the question's key terms the answer and its page hold, how
close in meaning the chosen text is, how well and how clearly the page was retrieved, ...). This model turns
those measurements into the probability that the question is answerable from what was found. Its weights and
its floor are not set by hand: `bench/answerability.py` fits candidate models on one pair of domains
(supportqa: cloud docs and government pages) and scores them on the other (supportqa-train: Wikipedia and a
finance forum), in both directions, keeps the candidate whose worse direction is best, and writes it, fitted
on both, to `answerability.json` next to this module.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SHIPPED = Path(__file__).with_name("answerability.json")


@dataclass(frozen=True)
class AnswerabilityModel:
    """P(answerable) = σ(intercept + Σ weight · measure), over raw (unscaled) measures."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    intercept: float
    floor: float  # the probability below which the bot abstains, chosen with the weights

    def probability(self, measures: dict[str, float]) -> float:
        z = self.intercept + sum(w * measures.get(name, 0.0) for name, w in zip(self.features, self.weights))
        return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))

    @classmethod
    def from_file(cls, path: Path) -> AnswerabilityModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if len(data["features"]) != len(data["weights"]):
            raise ValueError(f"{path}: one weight per feature expected")
        return cls(tuple(data["features"]), tuple(float(w) for w in data["weights"]), float(data["intercept"]),
                   float(data["floor"]))


@lru_cache(maxsize=1)
def shipped() -> AnswerabilityModel:
    """The model fitted across domains and committed with the code."""
    return AnswerabilityModel.from_file(SHIPPED)
