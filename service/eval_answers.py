"""`supportbot eval answers`: grounded answering on multi-turn support conversations, with abstention.

Input (JSON lines), either graded questions `{"id", "question", "history": [{"role", "text"}], "answerable",
"docs", "reference"}` or whole dialogues `{"id", "turns": [{"id", "question", "graded", "answerable", "docs",
"reference"}]}`, whose graded turns are answered with the earlier turns as history (earlier replies are the
dataset's reference replies, so every graded turn sees the same conversation whatever the bot said before).

The knowledge base folder is ingested into a fresh embedded collection (or into `--data-dir`, where an
unchanged folder is not embedded again), and every turn goes through the bot's own responder with the
deployment's default settings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.types import Decision, Message, Participant, Role
from knowledge.jsonl import json_objects

CUSTOMER = Participant(role=Role.CUSTOMER, id="eval")
AGENT = Participant(role=Role.BOT, id="bot", name="Assistant")
_WORD = re.compile(r"[a-z0-9]+")
_ARTICLES = {"a", "an", "the"}


class EvalRow(dict):  # type: ignore[type-arg]
    """One graded turn: id, question, history [(role, text)], answerable, docs, reference."""


def _fail(path: Path, number: int, why: str) -> ValueError:
    return ValueError(f"{path}:{number}: {why}")


def _history(path: Path, number: int, raw: Any) -> list[tuple[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _fail(path, number, "history must be a list of {role, text}")
    out = []
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str) \
                or entry.get("role") not in ("user", "agent", "customer", "bot", "assistant"):
            raise _fail(path, number, "each history entry needs a role (user or agent) and a text")
        out.append(("user" if entry["role"] in ("user", "customer") else "agent", entry["text"]))
    return out


def _graded(path: Path, number: int, row: dict[str, Any], history: list[tuple[str, str]]) -> EvalRow:
    if not isinstance(row.get("question"), str) or not row["question"].strip():
        raise _fail(path, number, "missing or empty 'question'")
    if not isinstance(row.get("answerable"), bool):
        raise _fail(path, number, "'answerable' must be true or false")
    docs = row.get("docs") or ([row["doc"]] if row.get("doc") else [])
    if not isinstance(docs, list) or not all(isinstance(d, str) for d in docs):
        raise _fail(path, number, "'docs' must be a list of page names")
    return EvalRow(id=str(row.get("id", f"{path.name}:{number}")), question=row["question"], history=history,
                   answerable=row["answerable"], docs=docs, reference=str(row.get("reference") or ""))


def read_rows(path: Path) -> list[EvalRow]:
    """Graded turns from a questions file or a dialogues file; ValueError names the bad line."""
    rows: list[EvalRow] = []
    for number, row in json_objects(path):
        if "turns" in row:
            if not isinstance(row["turns"], list):
                raise _fail(path, number, "'turns' must be a list")
            history: list[tuple[str, str]] = []
            for turn in row["turns"]:
                if not isinstance(turn, dict) or not isinstance(turn.get("question"), str):
                    raise _fail(path, number, "each turn needs a 'question'")
                if turn.get("graded", True):
                    rows.append(_graded(path, number, turn, list(history)))
                history += [("user", turn["question"]), ("agent", str(turn.get("reference") or ""))]
        else:
            rows.append(_graded(path, number, row, _history(path, number, row.get("history"))))
    if not rows:
        raise ValueError(f"{path}: no graded questions")
    return rows


def tokens(text: str) -> list[str]:
    return [t for t in _WORD.findall(text.lower()) if t not in _ARTICLES]


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1."""
    ours, theirs = tokens(prediction), tokens(reference)
    common = sum((Counter(ours) & Counter(theirs)).values())
    if not ours or not theirs or not common:
        return 0.0
    precision, recall = common / len(ours), common / len(theirs)
    return 2 * precision * recall / (precision + recall)


def cites_gold(citation: dict[str, str], docs: Sequence[str]) -> bool:
    """The citation names a gold page: by file (with or without its suffix), URL or title."""
    names = {citation.get("source", ""), citation.get("path", ""), citation.get("title", "")}
    names |= {Path(n).stem for n in names if n and "://" not in n}
    return any(d in names for d in docs)


def _messages(conversation_id: str, history: list[tuple[str, str]]) -> list[Message]:
    return [Message(conversation_id=conversation_id, channel="web", text=text,
                    sender=CUSTOMER if role == "user" else AGENT) for role, text in history]


async def answer_rows(kb_folder: Path, rows: list[EvalRow], data_dir: Path) -> tuple[list[dict[str, Any]], float]:
    from knowledge.ingest import ingest_folder
    from service.container import build_container, build_knowledge
    from service.settings import load_settings

    # the deployment's language models (SUPPORTBOT_LLM_MODELS) answer as they would, without streaming
    settings = load_settings(redis_url=None, data_dir=data_dir, categories_file=None, llm_base_url=None,
                             calibration_file=None, llm_stream=False)
    started = time.perf_counter()
    kb = build_knowledge(settings)
    await asyncio.to_thread(ingest_folder, kb, kb_folder, progress=False)  # type: ignore[arg-type]
    ingest_seconds = time.perf_counter() - started
    container = build_container(settings, knowledge=kb)
    predictions = []
    try:
        responder = container.dialogue.responder
        await responder.respond(Message(conversation_id="warm", channel="web", sender=CUSTOMER, text="hello"))
        for row in rows:
            message = Message(conversation_id=row["id"], channel="web", sender=CUSTOMER, text=row["question"])
            t0 = time.perf_counter()
            outcome = await responder.respond(message, _messages(row["id"], row["history"]))
            # a built-in reply ("I can only help with ...", a refusal) answers nothing from the help centre
            decision = Decision.ESCALATED if outcome.handled_as else outcome.decision
            predictions.append({
                "id": row["id"], "decision": decision.value, "text": outcome.text, "handled_as": outcome.handled_as,
                "citations": [{"title": c.title, "source": c.source, "path": c.passage_id.split("::")[0]}
                              for c in outcome.citations],
                "confidence": outcome.confidence, "searched": outcome.searched,
                "signals": outcome.signals, "reason": outcome.reason.value if outcome.reason else None,
                "answered_by": outcome.answered_by,
                "model_calls": [c.model_dump() for c in outcome.model_calls],
                "ms": round((time.perf_counter() - t0) * 1000, 1)})
    finally:
        await container.close()
    return predictions, ingest_seconds


def score(rows: list[EvalRow], predictions: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [(r, p) for r, p in zip(rows, predictions) if r["answerable"]]
    unanswerable = [(r, p) for r, p in zip(rows, predictions) if not r["answerable"]]
    answered = [(r, p) for r, p in answerable if p["decision"] == Decision.ANSWERED]
    said = [p for _, p in answerable + unanswerable if p["decision"] == Decision.ANSWERED]

    def rate(part: list[Any], whole: list[Any]) -> float | None:
        return round(len(part) / len(whole), 4) if whole else None

    def mean(values: list[float]) -> float | None:
        return round(statistics.fmean(values), 4) if values else None

    times = [p["ms"] for p in predictions]
    return {
        "rows": len(rows), "answerable": len(answerable), "unanswerable": len(unanswerable),
        "answered_rate": rate(answered, answerable),
        "abstain_rate": rate([p for _, p in unanswerable if p["decision"] == Decision.ESCALATED], unanswerable),
        "false_answer_rate": rate([p for _, p in unanswerable if p["decision"] == Decision.ANSWERED], unanswerable),
        "citation_accuracy": rate([1 for r, p in answered if any(cites_gold(c, r["docs"]) for c in p["citations"])],
                                  answered),
        "first_citation_accuracy": rate([1 for r, p in answered if p["citations"]
                                         and cites_gold(p["citations"][0], r["docs"])], answered),
        "citations_per_answer": mean([len(p["citations"]) for _, p in answered]),
        "f1_reference": mean([token_f1(p["text"], r["reference"]) for r, p in answered]),
        "mean_answer_tokens": mean([len(tokens(p["text"])) for p in said]),
        "ms_per_turn_p50": round(statistics.median(times), 1) if times else None,
        "ms_per_turn_mean": round(statistics.fmean(times), 1) if times else None,
        **model_costs(predictions)}


def model_costs(predictions: list[dict[str, Any]]) -> dict[str, Any]:
    """What language models cost over the run, and per turn the bot answered (the price of an answer,
    the calls for turns it did not answer included): nothing when no model is configured."""
    calls = [c for p in predictions for c in p.get("model_calls", [])]
    if not calls:
        return {}
    answered = sum(p["decision"] == Decision.ANSWERED for p in predictions) or None
    cost = sum(c["cost"] for c in calls)
    tokens_in, tokens_out = sum(c["input_tokens"] for c in calls), sum(c["output_tokens"] for c in calls)
    return {"model_calls": len(calls), "model_failures": sum(c["outcome"] in ("error", "timeout", "malformed")
                                                            for c in calls),
            "answered_by_model": sum(p["decision"] == Decision.ANSWERED and p.get("answered_by") not in ("", "composer")
                                     for p in predictions),
            "input_tokens_per_answer": round(tokens_in / answered, 1) if answered else None,
            "output_tokens_per_answer": round(tokens_out / answered, 1) if answered else None,
            "cost_per_answer": round(cost / answered, 6) if answered else None,
            "cost_total": round(cost, 6)}


def run(kb_folder: Path, questions: Path, *, limit: int | None = None, data_dir: Path | None = None,
        predictions_out: Path | None = None) -> dict[str, Any]:
    if not kb_folder.is_dir():
        raise ValueError(f"{kb_folder}: not a folder")
    rows = read_rows(questions)[:limit] if limit else read_rows(questions)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="supportbot-eval-") as scratch:
        predictions, ingest_seconds = asyncio.run(answer_rows(kb_folder, rows, data_dir or Path(scratch)))
    result = score(rows, predictions)
    result["ingest_seconds"] = round(ingest_seconds, 1)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    if predictions_out:
        with predictions_out.open("w", encoding="utf-8") as handle:
            for p in predictions:
                handle.write(json.dumps({k: p[k] for k in ("id", "decision", "text", "citations", "confidence",
                                                           "searched", "answered_by", "model_calls")}) + "\n")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supportbot eval answers", description=__doc__.splitlines()[0])
    parser.add_argument("--kb", required=True, type=Path, help="folder of help-centre pages")
    parser.add_argument("--questions", required=True, type=Path, help="questions or dialogues (JSON lines)")
    parser.add_argument("--predictions", type=Path, help="write one JSON line per graded turn here")
    parser.add_argument("--limit", type=int, help="answer only the first N graded turns")
    parser.add_argument("--data-dir", type=Path, help="keep the ingested collection here between runs")
    parser.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    args = parser.parse_args(argv)
    try:
        result = run(args.kb, args.questions, limit=args.limit, data_dir=args.data_dir,
                     predictions_out=args.predictions)
    except (ValueError, FileNotFoundError) as error:
        print(f"supportbot eval answers: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
    return 0
