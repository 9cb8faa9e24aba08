"""How well the turn confidence predicts which drafts an agent accepts, before and after calibration.

    python bench/calibration.py --corpus ../shared/datasets/stackfaq/corpus.jsonl \
        --questions ../shared/datasets/stackfaq/questions.jsonl \
        --unanswerable ../shared/datasets/banking77/train.jsonl --unanswerable-limit 300

Every question goes through the real dialogue path with the `general` category in `draft`. A reviewer
that knows the right articles approves a draft that cites only them and rejects any other, through the
agent desk, so the journal holds real review records. `--unanswerable` adds questions the help center
does not cover (lines with a "text"), as real traffic has: any draft for them is rejected.

Printed: the Brier score and expected calibration error of the uncalibrated product and of the
calibration (on held-out folds), and for a few confidence floors how many drafts clear it and how many
of those were right.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bot.desk import agent
from bot.types import Message, Participant, Role
from knowledge.calibration import compare, held_out, labelled_turns
from knowledge.chroma import ChromaKnowledgeBase
from knowledge.eval_retrieval import load_corpus, load_questions
from knowledge.ingest import ingest_documents
from service.container import build_container
from service.settings import Settings

REVIEWER = agent("reviewer", "Reviewer")


async def review_every_question(folder: Path, corpus: Path, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kb = ChromaKnowledgeBase.persistent(str(folder / "chroma"), "calibration")
    ingest_documents(kb, load_corpus(corpus), progress=False)
    categories = folder / "categories.yml"
    categories.write_text("categories:\n  - name: general\n    phase: draft\n", encoding="utf-8")
    settings = Settings(redis_url=None, data_dir=folder, categories_file=categories,
                        _env_file=None)  # type: ignore[call-arg]
    container = build_container(settings, knowledge=kb)
    try:
        for number, row in enumerate(questions):
            customer = Participant(role=Role.CUSTOMER, id=f"c{number}")
            state = await container.dialogue.start("web", customer)
            turn = await container.dialogue.handle(Message(conversation_id=state.id, channel="web",
                                                           sender=customer, text=row["question"]))
            if turn.outcome is None or turn.outcome.decision.value != "drafted":
                continue
            cited = {c.source for c in turn.outcome.citations}
            if cited and cited <= set(row["answer_ids"]):
                await container.desk.approve(state.id, REVIEWER)
            else:
                await container.desk.reject(state.id, REVIEWER, "cites the wrong article")
        return await container.journal.export()
    finally:
        await container.close()


def floors(pairs: list[tuple[float, bool]]) -> dict[str, list[dict[str, float | None]]]:
    """Coverage and precision of drafts above each floor, for raw and held-out calibrated confidences."""
    labels = np.array([accepted for _, accepted in pairs])
    raw = np.array([product for product, _ in pairs])
    fitted = held_out(pairs)
    out: dict[str, list[dict[str, float | None]]] = {}
    for name, scores in (("product", raw), ("calibrated", fitted)):
        out[name] = []
        for floor in (0.5, 0.7, 0.8, 0.9):
            above = scores >= floor
            out[name].append({"floor": floor, "coverage": round(float(above.mean()), 3),
                              "precision": round(float(labels[above].mean()), 3) if above.any() else None})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--unanswerable", type=Path, help='JSONL lines with a "text" no article answers')
    parser.add_argument("--unanswerable-limit", type=int, default=300)
    args = parser.parse_args()
    questions = load_questions(args.questions)[:args.limit]
    if args.unanswerable:
        with args.unanswerable.open(encoding="utf-8") as handle:
            lines = [json.loads(line)["text"] for line in handle if line.strip()]
        step = max(1, len(lines) // args.unanswerable_limit)  # spread over the file, not its first intents
        questions += [{"question": text, "answer_ids": []} for text in lines[::step][:args.unanswerable_limit]]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="calibration-") as folder:
        entries = asyncio.run(review_every_question(Path(folder), args.corpus, questions))
    pairs = labelled_turns(entries)
    print(json.dumps({"questions": len(questions), **compare(pairs), "floors": floors(pairs),
                      "seconds": round(time.perf_counter() - started, 1)}, indent=2))


if __name__ == "__main__":
    main()
