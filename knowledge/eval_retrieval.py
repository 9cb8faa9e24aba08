"""Retrieval evaluation on an FAQ corpus: how often the knowledge base ranks a right answer first.

Each corpus row becomes one document (long answers are chunked as usual); a document's rank is that of
its best chunk. Metrics follow FAQ-retrieval usage: `recall@k` is success@k (at least one gold answer
in the top k), `mrr@10` the mean reciprocal rank of the first gold answer.

    python -m knowledge.eval_retrieval --corpus corpus.jsonl --questions questions.jsonl --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from knowledge.chroma import ChromaKnowledgeBase
from knowledge.documents import Document, sha256
from knowledge.ingest import ingest_documents
from knowledge.jsonl import json_objects

RANK_DEPTH = 10


def _read_jsonl(path: str | Path, required: dict[str, type]) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file; any malformed line raises ValueError naming file and line."""
    rows = []
    for number, row in json_objects(Path(path)):
        for key, kind in required.items():
            if not isinstance(row.get(key), kind) or not row[key]:
                raise ValueError(f"{path}:{number}: missing or invalid field {key!r}")
        rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def load_corpus(path: str | Path) -> list[Document]:
    rows = _read_jsonl(path, {"id": str, "text": str})
    seen: set[str] = set()
    documents = []
    for row in rows:
        if row["id"] in seen:
            raise ValueError(f"{path}: duplicate id {row['id']!r}")
        seen.add(row["id"])
        title = row.get("title") if isinstance(row.get("title"), str) and row.get("title") else row["id"]
        documents.append(Document(path=row["id"], title=title, text=row["text"],
                                  content_hash=sha256(f"{title}\n{row['text']}".encode())))
    return documents


def load_questions(path: str | Path) -> list[dict[str, Any]]:
    rows = _read_jsonl(path, {"question": str, "answer_ids": list})
    for number, row in enumerate(rows, start=1):
        if not all(isinstance(a, str) for a in row["answer_ids"]):
            raise ValueError(f"{path}: row {number}: answer_ids must be strings")
    return rows


def ranked_documents(kb: ChromaKnowledgeBase, question: str, depth: int = RANK_DEPTH) -> list[str]:
    """Distinct document ids, best first (a document counts once, at its best chunk)."""
    k = depth * 2
    while True:
        passages = kb.search_sync(question, k=k)
        ranked = list(dict.fromkeys(p.source for p in passages))
        if len(ranked) >= depth or len(passages) < k:
            return ranked[:depth]
        k *= 2


def run(corpus_path: str | Path, questions_path: str | Path, *, limit: int | None = None,
        progress: bool = False, **kb_options: Any) -> dict[str, Any]:
    """Ingest the corpus into a throw-away embedded Chroma and score every question."""
    documents = load_corpus(corpus_path)
    questions = load_questions(questions_path)
    if limit is not None:
        questions = questions[:limit]
    if not questions:
        raise ValueError(f"{questions_path}: no questions to evaluate")
    known = {d.path for d in documents}
    for q in questions:
        if not set(q["answer_ids"]) & known:
            raise ValueError(f"{questions_path}: question {q['question']!r} has no answer in the corpus")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as folder:
        kb = ChromaKnowledgeBase.persistent(folder, "eval", **kb_options)
        t0 = time.perf_counter()
        report = ingest_documents(kb, documents, progress=progress)
        ingest_seconds = time.perf_counter() - t0
        kb.search_sync("warm up", k=1)
        hits1 = hits5 = 0
        reciprocal = 0.0
        latencies = []
        for q in questions:
            t0 = time.perf_counter()
            ranked = ranked_documents(kb, q["question"])
            latencies.append((time.perf_counter() - t0) * 1000)
            gold = set(q["answer_ids"])
            rank = next((i for i, doc in enumerate(ranked) if doc in gold), None)
            if rank is not None:
                hits1 += rank < 1
                hits5 += rank < 5
                reciprocal += 1.0 / (rank + 1)
        del kb
    n = len(questions)
    return {
        "recall@1": round(hits1 / n, 4),
        "recall@5": round(hits5 / n, 4),
        "mrr@10": round(reciprocal / n, 4),
        "ingest_per_second": round(len(documents) / ingest_seconds, 2) if ingest_seconds else None,
        "query_p50_ms": round(statistics.median(latencies), 1),
        "n_corpus": len(documents),
        "n_chunks": report.chunks,
        "n_questions": n,
        "total_seconds": round(time.perf_counter() - started, 1),
        "settings": {key: kb_options[key] for key in sorted(kb_options)},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge.eval_retrieval", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, help="JSONL rows {id, title, text}")
    parser.add_argument("--questions", required=True, help="JSONL rows {question, answer_ids}")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N questions")
    parser.add_argument("--title-weight", type=float, default=None, help="override title-aware scoring weight")
    parser.add_argument("--twin-penalty", type=float, default=None,
                        help="override the near-twin title penalty (0 turns it off)")
    parser.add_argument("--no-group", action="store_true", help="score each document alone, not per title")
    parser.add_argument("--progress", action="store_true", help="show the ingest progress bar")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    args = parser.parse_args(argv)
    options: dict[str, Any] = {}
    if args.title_weight is not None:
        options["title_weight"] = args.title_weight
    if args.twin_penalty is not None:
        options["twin_penalty"] = args.twin_penalty
    if args.no_group:
        options["group_by_title"] = False
    try:
        result = run(args.corpus, args.questions, limit=args.limit, progress=args.progress, **options)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>18}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
