"""Search alone on supportqa: how often a gold page is ranked first, with the conversation as the bot reads it.

    python bench/retrieval_supportqa.py --kb ../shared/datasets/supportqa/kb \
        --questions ../shared/datasets/supportqa/questions.jsonl ../shared/datasets/supportqa/dialogues.jsonl \
        --data-dir /tmp/sqa --json

`supportbot eval answers` scores the composer's first citation, which mixes search with the composer's choice;
this scores search on its own. Every answerable graded turn is searched the way the responder searches it (the
question, steered by the previous question and the last reply), and its passages are read as pages, each at its
best passage. `hit@k` is the share of turns with a gold page among the first k pages, `mrr@10` the mean
reciprocal rank of the first gold page, `in_top_k` the share with a gold passage among the `--top-k` passages
the composer reads. With `--data-dir`, an unchanged help centre is not embedded again (the layout
`supportbot eval answers --data-dir` keeps).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.responder import exchanges, reply_passages, search_context  # noqa: E402
from bot.types import Message  # noqa: E402
from knowledge.chroma import ChromaKnowledgeBase  # noqa: E402
from knowledge.ingest import ingest_folder  # noqa: E402
from service.eval_answers import AGENT, CUSTOMER, EvalRow, read_rows  # noqa: E402

DEPTH = 10


def page_of(passage_id: str) -> str:
    """The page a passage comes from: its file's name without folder or suffix."""
    return Path(passage_id.split("::")[0]).stem


def search_pages(kb: ChromaKnowledgeBase, row: EvalRow, depth: int, top_k: int) -> tuple[list[str], list[str]]:
    """Distinct pages best first (up to `depth`), and the pages of the first `top_k` passages."""
    history = [Message(conversation_id=row["id"], channel="web", text=text,
                       sender=CUSTOMER if role == "user" else AGENT) for role, text in row["history"]]
    earlier = exchanges(history)
    context = search_context(earlier)
    passages_of = reply_passages(earlier) if context else []
    k = max(2 * depth, top_k)
    while True:
        passages = kb.search_sync(row["question"], k=k, context=context, reply_passages=passages_of)
        pages = list(dict.fromkeys(page_of(p.id) for p in passages))
        if len(pages) >= depth or len(passages) < k:
            return pages[:depth], [page_of(p.id) for p in passages[:top_k]]
        k *= 2


def evaluate(kb: ChromaKnowledgeBase, rows: list[EvalRow], *, top_k: int = 8) -> dict[str, Any]:
    """hit@1, hit@5, mrr@10 of gold pages and the share of turns with a gold page among `top_k` passages."""
    graded = [r for r in rows if r["answerable"] and r["docs"]]
    if not graded:
        raise ValueError("no answerable turns with gold pages")
    hits1 = hits5 = in_top = 0
    reciprocal = 0.0
    started = time.perf_counter()
    for row in graded:
        pages, read = search_pages(kb, row, DEPTH, top_k)
        gold = set(row["docs"])
        rank = next((i for i, page in enumerate(pages) if page in gold), None)
        if rank is not None:
            hits1 += rank < 1
            hits5 += rank < 5
            reciprocal += 1.0 / (rank + 1)
        in_top += bool(gold & set(read))
    n = len(graded)
    return {"turns": n, "hit@1": round(hits1 / n, 4), "hit@5": round(hits5 / n, 4),
            "mrr@10": round(reciprocal / n, 4), f"in_top_{top_k}": round(in_top / n, 4),
            "search_seconds": round(time.perf_counter() - started, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, required=True, help="folder of help-centre pages")
    parser.add_argument("--questions", type=Path, nargs="+", required=True, help="questions and/or dialogues")
    parser.add_argument("--data-dir", type=Path, help="keep the ingested collection here between runs")
    parser.add_argument("--top-k", type=int, default=8, help="passages the composer reads (SUPPORTBOT_TOP_K)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="retrieval-") as scratch:
        kb = ChromaKnowledgeBase.persistent(str((args.data_dir or Path(scratch)) / "chroma"), "helpcenter")
        ingest_folder(kb, args.kb, progress=False)
        result: dict[str, Any] = {path.name: evaluate(kb, read_rows(path), top_k=args.top_k) for path in args.questions}
        del kb
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
