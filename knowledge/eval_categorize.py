"""Train the categorizer on one JSONL file and score it on another.

Each line is `{"text": str, "label": str}`; `oos` marks an out-of-scope message. Predicting `oos` or
`unknown` counts as "rejected"; the out-of-scope metrics follow Larson et al. (2019): in-scope accuracy
counts a rejected in-scope message as wrong, and oos recall is the share of `oos` lines rejected.
`top1_accuracy` ignores the threshold (the closed-set figure usually published for intent benchmarks).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from knowledge.classifier import UNKNOWN, TrainedCategorizer

OOS = "oos"


def read_examples(path: str | Path, *, limit: int | None = None) -> list[tuple[str, str]]:
    """(text, label) pairs; any malformed line raises ValueError naming the file and line."""
    examples: list[tuple[str, str]] = []
    try:
        with open(path, encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if limit is not None and len(examples) >= limit:
                    break
                if line.strip():
                    examples.append(_parse_line(line, f"{path}:{lineno}"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from exc
    if not examples:
        raise ValueError(f"{path}: no examples (empty file)")
    return examples


def _parse_line(line: str, where: str) -> tuple[str, str]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: invalid JSON ({exc.msg})") from exc
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object with 'text' and 'label'")  # noqa: TRY004 - bad input, one error type
    for key in ("text", "label"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise ValueError(f"{where}: missing or empty string field '{key}'")
    return row["text"], row["label"]


def train_from_file(path: str | Path, limit: int | None = None) -> TrainedCategorizer:
    """The one training entry point shared by evaluation and `supportbot train categories`."""
    return TrainedCategorizer.train(read_examples(path, limit=limit), oos_label=OOS)


def score(gold: list[str], predicted: list[str]) -> dict[str, float]:
    """Accuracy, macro-F1 over in-scope labels, and the out-of-scope metrics when gold has `oos`."""
    g = np.array(gold)
    p = np.array([OOS if lab == UNKNOWN else lab for lab in predicted])
    in_scope_labels = sorted(set(g.tolist()) - {OOS})
    out: dict[str, float] = {
        "accuracy": float(np.mean(g == p)),
        "macro_f1": float(f1_score(g, p, labels=in_scope_labels, average="macro", zero_division=0)),
    }
    is_oos = g == OOS
    if is_oos.any():
        rejected = p == OOS
        out["in_scope_accuracy"] = float(np.mean(p[~is_oos] == g[~is_oos])) if (~is_oos).any() else 0.0
        out["oos_recall"] = float(np.mean(rejected[is_oos]))
        out["oos_precision"] = float(np.mean(is_oos[rejected])) if rejected.any() else 0.0
    return out


def run(train_path: str, test_path: str, *, limit: int | None = None, save: str | None = None,
        val_path: str | None = None) -> dict[str, float | int | str]:
    """Train on `train_path`, evaluate on `test_path`; optionally save the trained artifact.

    With `val_path` the out-of-scope threshold is tuned on that file instead of on out-of-fold scores of the
    training set, which flatter it: the training set's out-of-scope lines are the ones the model has seen.
    """
    test = read_examples(test_path, limit=limit)
    train = read_examples(train_path, limit=limit)
    val = read_examples(val_path, limit=limit) if val_path else None
    started = time.perf_counter()
    model = TrainedCategorizer.train(train, oos_label=OOS)
    if val is not None:
        model.tune_threshold(val)
    train_seconds = time.perf_counter() - started
    if save:
        model.save(save)
    started = time.perf_counter()
    top = model.top_intents([text for text, _ in test])
    predictions = model.decide(top)
    predict_seconds = time.perf_counter() - started
    gold = [lab for _, lab in test]
    result: dict[str, float | int | str] = dict(score(gold, [p.label for p in predictions]))
    # Closed-set figures: the top intent whatever the threshold, and how often the threshold rejects.
    result["top1_accuracy"] = score(gold, [p.label for p, _ in top])["accuracy"]
    result["rejected_share"] = sum(p.label in (OOS, UNKNOWN) for p in predictions) / len(predictions)
    result.update(train_seconds=round(train_seconds, 2),
                  predict_per_second=round(len(test) / max(predict_seconds, 1e-9), 1),
                  threshold=round(model.threshold, 4), n_train=len(train), n_test=len(test),
                  threshold_tuned_on="val" if val is not None else "train (out of fold)")
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supportbot eval categorize",
                                     description="Train the message categorizer and score it.")
    parser.add_argument("--train", required=True, help="JSONL with {text, label} per line")
    parser.add_argument("--test", required=True, help="JSONL with {text, label} per line")
    parser.add_argument("--val", default=None, help="JSONL {text, label} to tune the out-of-scope threshold on")
    parser.add_argument("--limit", type=int, default=None, help="keep only the first N lines of each file")
    parser.add_argument("--save", default=None, metavar="PATH", help="also write the trained artifact here")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        result = run(args.train, args.test, limit=args.limit, save=args.save, val_path=args.val)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        width = max(len(k) for k in result)
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
