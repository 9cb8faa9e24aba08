"""Fit and measure the composer's grounding model: does the chosen text answer the question?

    python bench/grounding.py --kb ../shared/datasets/supportqa/kb \
        --questions ../shared/datasets/supportqa/questions.jsonl ../shared/datasets/supportqa/dialogues.jsonl

Every graded turn goes through the bot's responder with the grounding floor at 0, so each answer's
measurements are kept. A turn is "right" when its question is answerable and the answer's first citation
is a gold page; unanswerable questions and answers from another page are "wrong". Printed: a logistic
regression fitted on these turns, its curve on 5 held-out folds (split by conversation), and the curve of
the shipped `GroundingModel`: for each floor, the share of answerable turns answered, the share of
unanswerable turns answered (false answers), and the first-citation accuracy of the answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["SUPPORTBOT_MIN_GROUNDING"] = "0"
os.environ["SUPPORTBOT_MIN_CONFIDENCE"] = "0"

from knowledge.answer import GroundingModel  # noqa: E402
from service.eval_answers import answer_rows, cites_gold, read_rows  # noqa: E402

FEATURES = GroundingModel.FEATURES


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, required=True)
    parser.add_argument("--questions", type=Path, nargs="+", required=True)
    parser.add_argument("--data-dir", type=Path, help="keep the ingested collection here between runs")
    parser.add_argument("--dump", type=Path, help="write the measured turns here (JSON lines)")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    rows = [row for path in args.questions for row in read_rows(path)]
    with tempfile.TemporaryDirectory() as scratch:
        predictions, _ = asyncio.run(answer_rows(args.kb, rows, args.data_dir or Path(scratch)))
    turns = []
    for row, p in zip(rows, predictions):
        if p["decision"] != "answered" or not all(f in p["signals"] for f in FEATURES):
            turns.append({"row": row, "features": None, "right": False})
            continue
        right = row["answerable"] and bool(p["citations"]) and cites_gold(p["citations"][0], row["docs"])
        turns.append({"row": row, "features": [p["signals"][f] for f in FEATURES], "right": right})
    if args.dump:
        with args.dump.open("w") as handle:
            for t, p in zip(turns, predictions):
                handle.write(json.dumps({"id": t["row"]["id"], "answerable": t["row"]["answerable"],
                                         "right": t["right"], "features": t["features"], "text": p["text"],
                                         "question": t["row"]["question"], "signals": p["signals"],
                                         "reason": p["reason"], "decision": p["decision"]}) + "\n")
    measured = [t for t in turns if t["features"] is not None]
    x = np.asarray([t["features"] for t in measured])
    y = np.asarray([t["right"] for t in measured], dtype=int)
    model = LogisticRegression(C=1.0).fit(x, y)
    print(f"turns {len(turns)}, with an answer to measure {len(measured)}, right {int(y.sum())}")
    weights = ", ".join(f"{f} {c:.3f}" for f, c in zip(FEATURES, model.coef_[0]))
    print(f"fitted: intercept {model.intercept_[0]:.3f}, {weights}")
    current = GroundingModel()
    folds = np.asarray([hash(t["row"]["id"].split("#")[0].rsplit("-t", 1)[0]) % 5 for t in measured])
    held_out = np.zeros(len(measured))
    for fold in range(5):
        train = folds != fold
        if len(set(y[train])) < 2:
            continue
        held_out[~train] = LogisticRegression(C=1.0).fit(x[train], y[train]).predict_proba(x[~train])[:, 1]
    shipped = np.asarray([current.probability(dict(zip(FEATURES, f))) for f in x])
    answerable = sum(t["row"]["answerable"] for t in turns)
    unanswerable = len(turns) - answerable
    for name, scores in (("held-out folds", held_out), ("shipped model", shipped)):
        print(f"\n{name}: floor  answered  false-answer  first-citation")
        for floor in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            kept = [t for t, s in zip(measured, scores) if s >= floor]
            ans = [t for t in kept if t["row"]["answerable"]]
            print(f"  {floor:.1f}  {len(ans) / answerable:8.3f}  "
                  f"{sum(not t['row']['answerable'] for t in kept) / max(1, unanswerable):12.3f}  "
                  f"{sum(t['right'] for t in ans) / max(1, len(ans)):14.3f}")
    print(f"\n{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
