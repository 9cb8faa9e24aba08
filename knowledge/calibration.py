"""Fit the turn confidence to outcomes: which answers agents sent as they stood, and which they did not.

A journaled turn carries its signals; its label comes from what happened next:

- a draft an agent approved unchanged (or edited by at most a tenth) was acceptable; a rejected or
  rewritten one was not;
- a shadow answer (categorize phase) was acceptable when the agent's own first reply was close to it, by
  the same similarity the promotion report uses;
- an automatic answer was acceptable when the customer then said it resolved the question, and not when
  they said it did not.

Turns with no such outcome are left out rather than guessed. Each turn's product is recomputed from its
signals with its category's thresholds, as `combine` does at run time, so a calibration already in use does
not feed back into the next fit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from bot.confidence import Calibration, Signals, raw_confidence
from bot.gates import GateConfig
from bot.reports import Policy

MIN_SAMPLES = 20
EDIT_STILL_ACCEPTED = 0.9  # similarity of the sent text to the draft


def labelled_turns(entries: Iterable[dict[str, Any]], gates: GateConfig | None = None,
                   policy: Policy | None = None) -> list[tuple[float, bool]]:
    """(uncalibrated confidence, accepted) for every journaled turn whose outcome is known."""
    gates, policy = gates or GateConfig(), policy or Policy()
    by_text: dict[tuple[str, str], dict[str, Any]] = {}
    last_answer: dict[str, dict[str, Any]] = {}  # per conversation: what a confirmation is about
    outcomes: list[tuple[dict[str, Any], bool]] = []
    rows = sorted(entries, key=lambda e: float(e.get("at") or 0.0))
    for entry in rows:
        kind, cid = entry.get("kind"), str(entry.get("conversation_id", ""))
        if kind == "turn" and entry.get("signals") and entry.get("text"):
            by_text[(cid, entry["text"])] = entry
            if entry.get("decision") == "answered":
                last_answer[cid] = entry
        elif kind == "review" and (turn := by_text.get((cid, entry.get("original", "")))):
            verdict = entry.get("verdict")
            close = entry.get("similarity") is not None and entry["similarity"] >= EDIT_STILL_ACCEPTED
            outcomes.append((turn, verdict == "approved" or (verdict == "edited" and close)))
        elif kind == "shadow" and (turn := by_text.get((cid, entry.get("bot_text", "")))):
            outcomes.append((turn, float(entry.get("similarity", 0.0)) >= policy.shadow_resolved_similarity))
        elif kind == "confirmation" and (turn := last_answer.get(cid)):
            outcomes.append((turn, bool(entry.get("resolved"))))
    return [(raw_confidence(Signals.model_validate(turn["signals"]),
                            gates.thresholds_for(str(turn.get("category", "general")))), accepted)
            for turn, accepted in outcomes]


def _logits(products: Sequence[float]) -> np.ndarray:
    p = np.clip(np.asarray(products, dtype=float), 0.001, 0.999)
    return np.log(p / (1 - p))[:, None]


def fit_calibration(pairs: Sequence[tuple[float, bool]]) -> Calibration:
    """Platt scaling; needs both outcomes among at least MIN_SAMPLES turns."""
    labels = np.array([accepted for _, accepted in pairs], dtype=bool)
    if len(pairs) < MIN_SAMPLES or labels.all() or not labels.any():
        raise ValueError(f"need at least {MIN_SAMPLES} turns with a known outcome, some accepted and some "
                         f"not (have {len(pairs)}, {int(labels.sum())} accepted)")
    return _platt(pairs)


def _platt(pairs: Sequence[tuple[float, bool]]) -> Calibration:
    labels = np.array([accepted for _, accepted in pairs], dtype=bool)
    model = LogisticRegression().fit(_logits([p for p, _ in pairs]), labels)
    return Calibration(slope=float(model.coef_[0][0]), intercept=float(model.intercept_[0]),
                       samples=len(pairs), accepted=int(labels.sum()))


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict[str, float]:
    """Brier score and expected calibration error (equal-width bins, weighted by how many turns fall in each)."""
    labels = labels.astype(float)
    edges = np.minimum((probabilities * bins).astype(int), bins - 1)
    ece = sum(abs(probabilities[edges == b].mean() - labels[edges == b].mean()) * (edges == b).mean()
              for b in range(bins) if (edges == b).any())
    return {"brier": round(float(np.mean((probabilities - labels) ** 2)), 4), "ece": round(float(ece), 4)}


def held_out(pairs: Sequence[tuple[float, bool]], folds: int = 5, seed: int = 0) -> np.ndarray:
    """Calibrated confidence of each turn from a calibration fitted without it (k-fold)."""
    labels = np.array([accepted for _, accepted in pairs], dtype=bool)
    fitted = np.zeros(len(pairs))
    k = min(folds, int(labels.sum()), int((~labels).sum()))
    if k < 2:
        raise ValueError("too few accepted or rejected turns to hold any out")
    for train, test in StratifiedKFold(k, shuffle=True, random_state=seed).split(fitted, labels):
        calibration = _platt([pairs[i] for i in train])
        fitted[test] = [calibration.probability(pairs[i][0]) for i in test]
    return fitted


def suggest_floor(confidences: np.ndarray, labels: np.ndarray, precision: float = 0.9) -> dict[str, float] | None:
    """The lowest confidence floor above which at least `precision` of the answers were accepted.

    Lower floors let the bot answer more; this is the lowest that still keeps the promised share right,
    measured on the given (held-out) confidences. None when no floor gets there.
    """
    order = np.argsort(-confidences, kind="stable")
    ranked = confidences[order]
    right = np.cumsum(labels[order]) / np.arange(1, len(order) + 1)
    # a floor keeps whole groups of equal confidence: only a group's last turn can be the cut
    group_end = np.append(ranked[:-1] > ranked[1:], True)
    ok = np.flatnonzero((right >= precision) & group_end)
    if not len(ok):
        return None
    last = int(ok.max())  # answering the `last + 1` most confident turns keeps the precision
    return {"min_confidence": round(float(ranked[last]), 3), "precision": round(float(right[last]), 3),
            "coverage": round((last + 1) / len(order), 3)}


def compare(pairs: Sequence[tuple[float, bool]], folds: int = 5, precision: float = 0.9) -> dict[str, Any]:
    """Reliability of the uncalibrated product and of the calibration (on held-out folds), and the floor
    that keeps `precision` of the answers acceptable."""
    labels = np.array([accepted for _, accepted in pairs], dtype=bool)
    raw = np.array([p for p, _ in pairs])
    fitted = held_out(pairs, folds)
    return {"samples": len(pairs), "accepted": int(labels.sum()),
            "product": reliability(raw, labels), "calibrated": reliability(fitted, labels),
            "suggested": suggest_floor(fitted, labels, precision)}
