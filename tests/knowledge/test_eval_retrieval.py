"""Retrieval evaluation: metric arithmetic on a tiny corpus, and clear errors on malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge import eval_retrieval

CORPUS = [
    {"id": "d1", "title": "Resetting your password", "text": "Click Forgot password on the sign-in page."},
    {"id": "d2", "title": "Resetting your password", "text": "The reset link expires after 30 minutes."},
    {"id": "d3", "title": "Shipping times", "text": "Standard shipping takes 5 to 7 business days."},
    {"id": "d4", "title": "Cancelling a subscription", "text": "Open Settings, Billing, Cancel subscription."},
    {"id": "d5", "title": "API rate limits", "text": "The Team plan allows 600 requests per minute."},
]
QUESTIONS = [
    {"question": "I forgot my password, how do I reset it?", "answer_ids": ["d1", "d2"]},
    {"question": "How many days does standard delivery take?", "answer_ids": ["d3"]},
    {"question": "How can I stop my subscription?", "answer_ids": ["d4"]},
    {"question": "How many API calls per minute on Team?", "answer_ids": ["d5"]},
    # gold answer deliberately wrong: the right article is d3, so this question must miss at rank 1
    {"question": "How long does shipping take?", "answer_ids": ["d5"]},
]


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_metrics_on_a_tiny_corpus(tmp_path: Path) -> None:
    corpus = _write(tmp_path / "corpus.jsonl", CORPUS)
    questions = _write(tmp_path / "questions.jsonl", QUESTIONS)
    result = eval_retrieval.run(corpus, questions)
    assert result["n_corpus"] == 5 and result["n_questions"] == 5
    assert result["recall@1"] == pytest.approx(0.8)
    assert result["recall@5"] == pytest.approx(1.0)
    assert 0.8 < result["mrr@10"] < 1.0
    assert result["ingest_per_second"] > 0 and result["query_p50_ms"] > 0
    limited = eval_retrieval.run(corpus, questions, limit=2)
    assert limited["n_questions"] == 2 and limited["recall@1"] == 1.0


def test_malformed_lines_name_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = _write(tmp_path / "corpus.jsonl", CORPUS)
    bad = tmp_path / "questions.jsonl"
    bad.write_text(json.dumps(QUESTIONS[0]) + "\n{not json\n")
    with pytest.raises(ValueError, match=r"questions\.jsonl:2"):
        eval_retrieval.run(corpus, bad)
    missing_field = _write(tmp_path / "corpus2.jsonl", [CORPUS[0], {"id": "x", "title": "no text"}])
    with pytest.raises(ValueError, match=r"corpus2\.jsonl:2: .*'text'"):
        eval_retrieval.run(missing_field, bad)
    assert eval_retrieval.main(["--corpus", str(corpus), "--questions", str(bad), "--json"]) == 2
    assert "questions.jsonl:2" in capsys.readouterr().err
