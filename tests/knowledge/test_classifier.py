"""The categorizer learns a handful of intents from a few lines each and rejects what fits none."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from knowledge.classifier import TrainedCategorizer, _rank
from knowledge.embedding import embed
from knowledge.eval_categorize import main, read_examples, run, train_from_file

INTENTS: dict[str, list[str]] = {
    "reset_password": [
        "i forgot my password", "how do i reset my password", "can't remember my login password",
        "password reset link not working", "i need a new password", "locked out, forgot the password",
        "how can i change my password", "reset my account password please", "the password reset email never came",
        "i want to set a different password", "my password doesn't work anymore", "help me recover my password",
        "where do i change the password for my account", "send me a password reset", "password forgotten, what now",
        "i can't log in because i lost my password", "how to update my password",
    ],
    "refund": [
        "i want my money back", "how do i get a refund", "please refund my order", "refund for a damaged item",
        "can i return this and get reimbursed", "when will my refund arrive", "i was charged twice, refund me",
        "request a refund for my purchase", "the refund hasn't shown up in my account", "how long do refunds take",
        "i'd like to cancel and be refunded", "money back for the broken product", "is my order eligible for a refund",
        "refund status please", "you owe me a refund", "give me my money back for this subscription",
        "i returned the item, where is my refund",
    ],
    "shipping_status": [
        "where is my package", "track my order", "when will my order arrive", "has my parcel shipped yet",
        "my delivery is late", "what's the tracking number for my order", "order still not delivered",
        "how long does shipping take", "is my package on its way", "the courier hasn't come yet",
        "estimated delivery date for my order", "my shipment seems stuck", "where's my stuff, it's been a week",
        "check the delivery status", "package says delivered but i don't have it", "when does my order ship",
        "can you tell me where my parcel is",
    ],
    "cancel_subscription": [
        "cancel my subscription", "i want to stop my membership", "how do i unsubscribe from the plan",
        "end my monthly plan", "stop charging me every month", "please close my premium subscription",
        "how to cancel auto renewal", "i don't want the subscription anymore", "turn off recurring billing",
        "terminate my plan", "cancel my account membership", "how can i quit the service",
        "stop my plan from renewing", "i'd like to discontinue my subscription", "unsubscribe me from premium",
        "cancel the yearly plan before it renews", "how do i end my trial before i get billed",
    ],
    "talk_to_human": [
        "let me talk to a person", "i want a human agent", "connect me to support staff", "is there a real person",
        "transfer me to an operator", "can i speak with someone", "get me a representative",
        "i need to speak to customer service", "stop the bot, human please", "speak to an agent now",
        "put me through to a human", "can a real agent help me", "i'd rather chat with a person",
        "contact a live agent", "i want to talk to someone from your team", "escalate to a human",
        "is anyone there who isn't a bot",
    ],
}
OUT_OF_SCOPE = [
    "what's the capital of peru", "tell me a joke about cats", "how tall is mount everest",
    "recommend a good pizza recipe", "who won the football game last night", "what is the square root of 144",
    "play some jazz music", "how do i grow tomatoes", "translate hello into german", "what's your favourite colour",
    "how many legs does a spider have", "set an alarm for 7am",
]
HELD_OUT = 5  # last lines of each intent are kept for testing


def split() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    train = [(t, label) for label, lines in INTENTS.items() for t in lines[:-HELD_OUT]]
    test = [(t, label) for label, lines in INTENTS.items() for t in lines[-HELD_OUT:]]
    return train + [(t, "oos") for t in OUT_OF_SCOPE], test


@pytest.fixture(scope="module")
def model() -> TrainedCategorizer:
    return TrainedCategorizer.train(split()[0])


def test_held_out_accuracy(model: TrainedCategorizer) -> None:
    test = split()[1]
    predictions = model.predict([t for t, _ in test])
    accuracy = sum(p.label == label for p, (_, label) in zip(predictions, test)) / len(test)
    assert accuracy >= 0.8
    assert all(0.0 <= p.probability <= 1.0 for p in predictions)


@pytest.mark.parametrize("two_labels", [False, True])
def test_scores_are_scikit_learns_own(model: TrainedCategorizer, two_labels: bool) -> None:
    """The per-message scoring gives what `decision_function` over the sparse features and `predict_proba`
    give, for every label, including text with no known term and a two-label model's single column."""
    if two_labels:
        model = TrainedCategorizer.train([ex for ex in split()[0] if ex[1] in {"oos", next(iter(INTENTS))}])
    texts = [t for t, _ in split()[1]] + ["", "zzzz qqqq", "Ünïcödé ✓ card?!", "what's the weather on mars"]
    vectors = embed(texts)
    reference = model.svm.decision_function(model.featurizer.transform(texts, vectors))
    np.testing.assert_allclose(model._linear(texts, vectors), reference, rtol=1e-9, atol=1e-9)
    confidence = model.confidence
    assert confidence is not None and confidence.model is not None
    values = np.linspace(0.0, 1.0, 11)
    ranks = (_rank(confidence.prob_quantiles, values) + _rank(confidence.sim_quantiles, values)) / 2
    np.testing.assert_allclose(confidence.score(values, values),
                               confidence.model.predict_proba(ranks[:, None])[:, 1], rtol=1e-9)


def test_out_of_scope_is_rejected(model: TrainedCategorizer) -> None:
    [prediction] = model.predict(["what's the weather on mars"])
    assert prediction.label in {"oos", "unknown"}


def test_without_oos_lines_low_confidence_is_unknown() -> None:
    in_scope = [ex for ex in split()[0] if ex[1] != "oos"]
    model = TrainedCategorizer.train(in_scope)
    model.threshold = 1.01  # nothing can be that sure
    assert {p.label for p in model.predict(["where is my package"])} == {"unknown"}


def test_tune_threshold_sets_the_attribute(model: TrainedCategorizer) -> None:
    test = split()[1]
    val = test + [(t, "oos") for t in ["what's the weather on mars", "sing me a song"]]
    threshold = model.tune_threshold(val)
    assert model.threshold == threshold and 0.0 <= threshold <= 1.0


def test_save_load_roundtrip(model: TrainedCategorizer, tmp_path: Path) -> None:
    texts = [t for t, _ in split()[1]] + ["what's the weather on mars"]
    path = tmp_path / "categorizer.joblib"
    model.save(path)
    loaded = TrainedCategorizer.load(path)
    assert loaded.predict(texts) == model.predict(texts)
    assert loaded.threshold == model.threshold


def write_jsonl(path: Path, rows: list[tuple[str, str]]) -> None:
    path.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows))


@pytest.mark.parametrize("content, message", [
    ('{"text": "hi", "label": "greet"}\n{"text": "oops"\n', "bad.jsonl:2: invalid JSON"),
    ('{"text": "hi"}\n', "bad.jsonl:1: missing or empty string field 'label'"),
    ('["hi", "greet"]\n', "bad.jsonl:1: expected a JSON object"),
    ("", "bad.jsonl: no examples"),
])
def test_malformed_jsonl_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        read_examples(bad)


def test_cli_exit_code_on_malformed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    assert main(["--train", str(bad), "--test", str(bad)]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err


def test_run_reports_oos_metrics(tmp_path: Path) -> None:
    train, test = split()
    write_jsonl(tmp_path / "train.jsonl", train)
    write_jsonl(tmp_path / "test.jsonl", test + [("what's the weather on mars", "oos")])
    result = run(str(tmp_path / "train.jsonl"), str(tmp_path / "test.jsonl"))
    assert {"accuracy", "macro_f1", "in_scope_accuracy", "oos_recall", "oos_precision",
            "train_seconds", "predict_per_second", "n_train", "n_test"} <= result.keys()
    assert result["n_test"] == len(test) + 1


def test_val_file_sets_the_out_of_scope_threshold(tmp_path: Path) -> None:
    train, test = split()
    oos_lines = [("what's the weather on mars", "oos"), ("tell me a joke about penguins", "oos"),
                 ("who won the football match", "oos"), ("recommend a lasagna recipe", "oos")]
    write_jsonl(tmp_path / "train.jsonl", train + oos_lines[:2])
    write_jsonl(tmp_path / "val.jsonl", test[: len(test) // 2] + oos_lines[2:])
    write_jsonl(tmp_path / "test.jsonl", test)
    plain = run(str(tmp_path / "train.jsonl"), str(tmp_path / "test.jsonl"))
    tuned = run(str(tmp_path / "train.jsonl"), str(tmp_path / "test.jsonl"), val_path=str(tmp_path / "val.jsonl"))
    assert plain["threshold_tuned_on"] == "train (out of fold)" and tuned["threshold_tuned_on"] == "val"
    model = train_from_file(tmp_path / "train.jsonl")
    assert tuned["threshold"] == round(model.tune_threshold(read_examples(tmp_path / "val.jsonl")), 4)
