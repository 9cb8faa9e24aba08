"""`supportbot eval answers` on a small help centre: metrics printed, predictions written, bad files refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.eval_answers import main, token_f1

SAMPLE_DOCS = Path(__file__).resolve().parents[2] / "service" / "sample_docs"
QUESTIONS = [
    {"id": "q1", "question": "How do I cancel my subscription?", "history": [], "answerable": True,
     "docs": ["cancel-subscription"], "reference": "Open Settings > Billing and click Cancel subscription."},
    {"id": "q2", "question": "What if I lose my phone?", "answerable": True, "docs": ["two-factor-authentication"],
     "history": [{"role": "user", "text": "How do I set up two-factor authentication?"},
                 {"role": "agent", "text": "Open Settings > Security and click Enable two-factor authentication."}],
     "reference": "Sign in with one of your backup codes and set up 2FA again on your new device."},
    {"id": "q3", "question": "Does the Starter plan include single sign-on?", "history": [], "answerable": False,
     "docs": [], "reference": "I do not know."},
]
DIALOGUE = {"id": "d1", "turns": [
    {"id": "d1#t1", "question": "How do I export my data?", "graded": False, "reference": "Go to Settings > Data."},
    {"id": "d1#t2", "question": "What formats can I choose?", "graded": True, "answerable": True,
     "docs": ["export-data"], "reference": "JSON or CSV."},
]}


def write_jsonl(path: Path, rows: list[dict]) -> Path:  # type: ignore[type-arg]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_eval_answers_prints_metrics_and_writes_predictions(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    questions = write_jsonl(tmp_path / "questions.jsonl", QUESTIONS)
    predictions = tmp_path / "predictions.jsonl"
    assert main(["--kb", str(SAMPLE_DOCS), "--questions", str(questions), "--predictions", str(predictions),
                 "--data-dir", str(tmp_path / "data"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rows"] == 3 and result["answerable"] == 2 and result["unanswerable"] == 1
    assert result["answered_rate"] == 1.0 and result["false_answer_rate"] == 0.0 and result["abstain_rate"] == 1.0
    assert result["first_citation_accuracy"] == 1.0 and result["citation_accuracy"] == 1.0
    assert 0 < result["f1_reference"] < 1 and result["mean_answer_tokens"] > 5 and result["ms_per_turn_p50"] > 0
    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [p["id"] for p in lines] == ["q1", "q2", "q3"]
    assert [p["decision"] for p in lines] == ["answered", "answered", "escalated"]
    assert lines[0]["citations"][0]["path"] == "cancel-subscription.md"
    assert {"title", "source"} <= lines[0]["citations"][0].keys()
    assert lines[1]["searched"].startswith("What if I lose my phone? ← How do I set up two-factor")

    dialogues = write_jsonl(tmp_path / "dialogues.jsonl", [DIALOGUE])
    assert main(["--kb", str(SAMPLE_DOCS), "--questions", str(dialogues), "--data-dir", str(tmp_path / "data"),
                 "--json"]) == 0
    graded = json.loads(capsys.readouterr().out)
    assert graded["rows"] == 1 and graded["answered_rate"] == 1.0 and graded["first_citation_accuracy"] == 1.0


@pytest.mark.parametrize(("content", "message"), [
    ("not json\n", "bad.jsonl:1: not valid JSON"),
    ('{"question": "hi", "answerable": "yes"}\n', "bad.jsonl:1: 'answerable' must be true or false"),
    ('{"question": "hi", "answerable": true, "history": [{"who": "x"}]}\n', "bad.jsonl:1: each history entry"),
    ("\n", "bad.jsonl: no graded questions"),
])
def test_a_malformed_file_is_exit_2_with_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   content: str, message: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    assert main(["--kb", str(SAMPLE_DOCS), "--questions", str(bad)]) == 2
    assert message in capsys.readouterr().err


def test_token_f1() -> None:
    assert token_f1("Refunds take 5 to 10 days", "refunds take 5 to 10 days") == 1.0
    assert token_f1("", "anything") == 0.0
    assert 0 < token_f1("open the billing page", "open settings then billing") < 1


def test_eval_answers_reports_tokens_and_cost_per_answered_turn(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakes.openai_api import FakeOpenAI
    from tests.fakes.scripted import Scripted

    model = FakeOpenAI()
    try:
        monkeypatch.setenv("SUPPORTBOT_LLM_MODELS", json.dumps([{
            "provider": "openai", "model": "gpt-stand-in", "base_url": model.base_url, "price_in": 1,
            "price_out": 4}]))
        monkeypatch.setenv("SUPPORTBOT_LLM_ROUTE", "always")
        model.replies += [Scripted('1. Open Settings > Billing. [1]\n2. Click "Cancel subscription" at the bottom of '
                                   'the page. [1]', input_tokens=1000, output_tokens=50),
                          Scripted("NO_ANSWER", input_tokens=800, output_tokens=2)]
        questions = write_jsonl(tmp_path / "questions.jsonl", [QUESTIONS[0], QUESTIONS[2]])
        predictions = tmp_path / "predictions.jsonl"
        assert main(["--kb", str(SAMPLE_DOCS), "--questions", str(questions), "--data-dir", str(tmp_path / "data"),
                     "--predictions", str(predictions), "--json"]) == 0
    finally:
        model.close()
    result = json.loads(capsys.readouterr().out)
    # both questions reached the model; only the first was answered, and it carries the cost of both calls
    assert len(model.requests) == 2 and result["model_calls"] == 2 and result["answered_by_model"] == 1
    assert result["answered_rate"] == 1.0 and result["false_answer_rate"] == 0.0
    assert (result["input_tokens_per_answer"], result["output_tokens_per_answer"]) == (1800, 52)
    assert result["cost_per_answer"] == pytest.approx((1800 * 1 + 52 * 4) / 1e6)
    assert result["cost_total"] == result["cost_per_answer"]  # one answered turn
    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [len(p["model_calls"]) for p in lines] == [1, 1]
