"""Confidence calibration: labels from the journal, a fit that matches outcome rates, and its use at run time."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from httpx import ASGITransport, AsyncClient

from bot.confidence import Calibration, Signals, combine, raw_confidence
from bot.gates import GateConfig, Thresholds
from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from bot.types import Decision, Message, Participant, Role
from knowledge.calibration import compare, fit_calibration, labelled_turns, reliability, suggest_floor
from service.asgi import create_app
from service.container import build_container, load_calibration, load_gates
from service.settings import Settings

STRONG = {"category_probability": 1.0, "retrieval_score": 0.7, "support": 1.0}
WEAK = {"category_probability": 1.0, "retrieval_score": 0.32, "support": 0.5}


def turn(cid: str, text: str, signals: dict[str, float], decision: str = "drafted", at: float = 1.0,
         category: str = "general") -> dict[str, object]:
    return {"kind": "turn", "conversation_id": cid, "text": text, "signals": signals, "decision": decision,
            "at": at, "category": category}


def test_outcomes_in_the_journal_label_the_turns_they_follow() -> None:
    entries = [
        turn("a", "draft a", STRONG), {"kind": "review", "conversation_id": "a", "original": "draft a",
                                       "verdict": "approved", "at": 2.0},
        turn("b", "draft b", WEAK), {"kind": "review", "conversation_id": "b", "original": "draft b",
                                     "verdict": "rejected", "at": 2.0},
        turn("c", "draft c", STRONG), {"kind": "review", "conversation_id": "c", "original": "draft c",
                                       "verdict": "edited", "similarity": 0.95, "at": 2.0},
        turn("d", "draft d", STRONG), {"kind": "review", "conversation_id": "d", "original": "draft d",
                                       "verdict": "edited", "similarity": 0.4, "at": 2.0},
        turn("e", "shadow e", WEAK, "escalated"), {"kind": "shadow", "conversation_id": "e",
                                                   "bot_text": "shadow e", "similarity": 0.9, "at": 2.0},
        turn("f", "answer f", STRONG, "answered"), {"kind": "confirmation", "conversation_id": "f",
                                                    "resolved": False, "at": 2.0},
        turn("g", "never reviewed", STRONG),
        {"kind": "review", "conversation_id": "h", "original": "no such turn", "verdict": "approved", "at": 2.0},
    ]
    labelled = labelled_turns(entries)
    strong, weak = raw_confidence(Signals(**STRONG), Thresholds()), raw_confidence(Signals(**WEAK), Thresholds())
    assert labelled == [(strong, True), (weak, False), (strong, True), (strong, False), (weak, True),
                        (strong, False)]


def test_labels_use_the_thresholds_of_the_turns_category() -> None:
    gates = GateConfig.model_validate({"categories": [{"name": "strict",
                                                       "thresholds": {"min_retrieval_score": 0.6}}]})
    entries = [turn("a", "x", STRONG, category="strict"),
               {"kind": "review", "conversation_id": "a", "original": "x", "verdict": "approved", "at": 2.0}]
    [(product, _)] = labelled_turns(entries, gates)
    assert product == pytest.approx(raw_confidence(Signals(**STRONG), gates.thresholds_for("strict")))
    assert product < raw_confidence(Signals(**STRONG), Thresholds())


def synthetic(n: int, seed: int) -> list[tuple[float, bool]]:
    """Products that rank well but overstate: a turn with product p is accepted with probability p**4."""
    rng = random.Random(seed)
    products = [rng.uniform(0.3, 1.0) for _ in range(n)]
    return [(p, rng.random() < p ** 4) for p in products]


def test_the_fit_matches_outcome_rates_the_product_overstates() -> None:
    train, test = synthetic(600, 1), synthetic(2000, 2)
    calibration = fit_calibration(train)
    labels = np.array([a for _, a in test])
    raw = reliability(np.array([p for p, _ in test]), labels)
    fitted = reliability(np.array([calibration.probability(p) for p, _ in test]), labels)
    assert fitted["ece"] < 0.05 < raw["ece"]
    assert fitted["brier"] < raw["brier"]
    assert calibration.probability(0.9) > calibration.probability(0.6)  # the ranking is kept
    held = compare(train)
    assert held["calibrated"]["ece"] < held["product"]["ece"]


def test_the_suggested_floor_is_the_lowest_that_keeps_the_promised_share_right() -> None:
    confidences, labels = np.array([0.6, 0.95, 0.8, 0.9, 0.7]), np.array([True, True, True, True, False])
    assert suggest_floor(confidences, labels, 0.8) == {"min_confidence": 0.6, "precision": 0.8, "coverage": 1.0}
    assert suggest_floor(confidences, labels, 0.9) == {"min_confidence": 0.8, "precision": 1.0, "coverage": 0.6}
    assert suggest_floor(np.array([0.9, 0.8, 0.8]), np.array([True, True, False]), 1.0) == {
        "min_confidence": 0.9, "precision": 1.0, "coverage": 0.333}  # the tie at 0.8 goes in or out together
    assert suggest_floor(np.array([0.9, 0.8]), np.array([False, False]), 0.5) is None


def test_the_fit_refuses_too_little_or_one_sided_evidence() -> None:
    with pytest.raises(ValueError, match="at least 20"):
        fit_calibration(synthetic(10, 0))
    with pytest.raises(ValueError, match="some accepted and some not"):
        fit_calibration([(0.9, True)] * 40)


def test_a_calibration_turns_the_product_into_the_confidence_the_floor_is_checked_against() -> None:
    signals = Signals(**STRONG)
    product = raw_confidence(signals, Thresholds())
    doubtful = Calibration(slope=1.0, intercept=-10.0, samples=100, accepted=10)
    confidence, short = combine(signals, Thresholds(min_confidence=0.5), doubtful)
    assert confidence == pytest.approx(doubtful.probability(product), abs=1e-4) and confidence < 0.1
    assert short == [f"confidence {confidence:.2f} < 0.50"]
    assert combine(signals, Thresholds(min_confidence=0.5))[1] == []


async def test_the_bot_uses_a_trained_calibration_and_a_broken_one_stops_the_start(settings: Settings) -> None:
    settings.calibration_file = settings.data_dir / "confidence.json"
    settings.calibration_file.write_text(Calibration(slope=1.0, intercept=-10.0, samples=42,
                                                     accepted=30).model_dump_json())
    container = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                answerer=FirstSentenceAnswerer())
    try:
        async with AsyncClient(transport=ASGITransport(app=create_app(settings, container)),
                               base_url="http://test") as client:
            analytics = await client.get("/api/agent/analytics", headers={"Authorization": "Bearer agent-secret"})
        assert analytics.json()["confidence"] == {"calibrated": True, "samples": 42, "accepted": 30,
                                                  "min_confidence": 0.35}
        customer = Participant(role=Role.CUSTOMER, id="c1")
        state = await container.dialogue.start("web", customer)
        outcome = (await container.dialogue.handle(Message(conversation_id=state.id, channel="web",
                                                            sender=customer, text="How do I reset my password?"))
                   ).outcome
        assert outcome is not None and outcome.decision is Decision.ESCALATED
        assert "confidence" in outcome.explanation and outcome.confidence < 0.1
    finally:
        await container.close()
    settings.calibration_file.write_text('{"slope": "steep"}')
    with pytest.raises(ValueError, match="not a confidence calibration"):
        load_calibration(settings)
    settings.calibration_file = settings.data_dir / "missing.json"
    with pytest.raises(ValueError, match="not found"):
        load_calibration(settings)


def test_train_confidence_command_writes_what_the_bot_loads(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    rows = []
    for i, (product, accepted) in enumerate(synthetic(200, 3)):
        signals = {"category_probability": product, "retrieval_score": 0.9, "support": 1.0}
        rows.append(turn(f"c{i}", f"draft {i}", signals))
        rows.append({"kind": "review", "conversation_id": f"c{i}", "original": f"draft {i}", "at": 2.0,
                     "verdict": "approved" if accepted else "rejected"})
    history.write_text("\n".join(json.dumps(r) for r in rows))
    env = {"PATH": "/usr/bin:/bin", "SUPPORTBOT_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "service.cli", "train", "confidence", "--history",
                             str(history)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["samples"] == 200 and figures["calibrated"]["brier"] < figures["product"]["brier"]
    assert figures["suggested"]["precision"] >= 0.9 and 0 < figures["suggested"]["coverage"] < 1
    loaded = load_calibration(Settings(data_dir=tmp_path, _env_file=None))  # type: ignore[call-arg]
    assert loaded is not None and loaded.samples == 200
    history.write_text("\n".join(json.dumps(r) for r in rows[:10]))
    refused = subprocess.run([sys.executable, "-m", "service.cli", "train", "confidence", "--history",
                              str(history)], capture_output=True, text=True, env=env)
    assert refused.returncode == 2 and "at least 20" in refused.stderr


def test_reports_and_the_fit_use_the_floors_the_bot_uses(tmp_path: Path) -> None:
    """A history replayed offline is scored against the deployment's floors, not the defaults."""
    settings = Settings(data_dir=tmp_path, min_retrieval_score=0.5, min_confidence=0.8,
                        _env_file=None)  # type: ignore[call-arg]
    thresholds = load_gates(settings).thresholds
    assert (thresholds.min_retrieval_score, thresholds.min_confidence) == (0.5, 0.8)
