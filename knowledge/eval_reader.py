"""How well the message reader reads: held-out examples, and optionally CLINC150's messages.

A deterministic 20 % of each intent's example lines (those whose hash sorts first) is held out, the reader is
trained on the rest, and the held-out lines give per-intent precision and recall, plus the count of greeting,
thanks, goodbye and off-topic lines read as a request for a person or as frustration (a handoff opened on
them is always wrong, so this must be 0).

With `--clinc val.jsonl` the reader also reads CLINC150's messages: its out-of-scope ones and its in-scope ones
(assistant requests over banking, travel, small talk…), reporting the share read as each intent and the
share that would open a handoff.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bot.reading import ESCALATING, Intent
from knowledge.reader import EXAMPLES, NEVER_ESCALATING, TrainedReader, read_examples

HELD_OUT_SHARE = 0.2


def held_out_split(examples: Sequence[tuple[str, Intent]], share: float = HELD_OUT_SHARE
                   ) -> tuple[list[tuple[str, Intent]], list[tuple[str, Intent]]]:
    """(train, held out): per intent, the `share` of lines whose SHA-256 sorts first is held out, so the split
    is the same on every machine and a line stays on its side when others are added."""
    by_intent: dict[Intent, list[str]] = {}
    for text, intent in examples:
        by_intent.setdefault(intent, []).append(text)
    train: list[tuple[str, Intent]] = []
    held_out: list[tuple[str, Intent]] = []
    for intent, texts in by_intent.items():
        ranked = sorted(texts, key=lambda t: hashlib.sha256(t.encode()).hexdigest())
        cut = round(share * len(ranked))
        held_out += [(t, intent) for t in ranked[:cut]]
        train += [(t, intent) for t in ranked[cut:]]
    return train, held_out


def score_held_out(reader: TrainedReader, held_out: Sequence[tuple[str, Intent]]) -> dict:
    """Per-intent precision and recall, the escalations opened on never-escalating lines, and the recall of
    escalation as such (a person or frustrated line read as either)."""
    readings = reader.read([text for text, _ in held_out])
    gold = [intent for _, intent in held_out]
    read_as = [r.intent for r in readings]
    per_intent = {}
    for intent in sorted(set(gold), key=list(Intent).index):
        truly = sum(g == intent for g in gold)
        predicted = sum(p == intent for p in read_as)
        right = sum(g == p == intent for g, p in zip(gold, read_as))
        per_intent[intent.value] = {"precision": round(right / predicted, 4) if predicted else 0.0,
                                    "recall": round(right / truly, 4), "support": truly}
    wrongly_escalated = [text for (text, g), p in zip(held_out, read_as) if g in NEVER_ESCALATING and p in ESCALATING]
    others = [p in ESCALATING for g, p in zip(gold, read_as) if g not in ESCALATING and g not in NEVER_ESCALATING]
    escalating = [p in ESCALATING for g, p in zip(gold, read_as) if g in ESCALATING]
    missed = [f"{text} -> {p.value}" for (text, g), p in zip(held_out, read_as) if g in ESCALATING and p != g]
    return {"per_intent": per_intent,
            "accuracy": round(sum(g == p for g, p in zip(gold, read_as)) / len(gold), 4),
            "escalation_recall": round(sum(escalating) / len(escalating), 4) if escalating else 0.0,
            "never_escalating_read_as_escalating": len(wrongly_escalated),
            "other_intents_read_as_escalating": sum(others), "other_intents": len(others),
            "never_escalating_examples": wrongly_escalated, "escalating_misread": missed}


def read_clinc(path: str | Path) -> list[tuple[str, str]]:
    """(text, label) pairs of a CLINC150 JSONL file; `oos` marks an out-of-scope message."""
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row["text"], row["label"]) for row in rows]


def score_clinc(reader: TrainedReader, rows: Sequence[tuple[str, str]]) -> dict:
    """Share of out-of-scope and of in-scope messages read as each intent, the share that would open a
    handoff, and the CLINC intents whose messages open the most handoffs."""
    readings = reader.read([text for text, _ in rows])
    out: dict = {}
    for part, keep in (("out_of_scope", lambda label: label == "oos"), ("in_scope", lambda label: label != "oos")):
        read_as = [r.intent for r, (_, label) in zip(readings, rows) if keep(label)]
        counts = Counter(read_as)
        out[part] = {"messages": len(read_as),
                     "read_as": {i.value: round(counts[i] / len(read_as), 4) for i in Intent if counts[i]},
                     "handoff_share": round(sum(counts[i] for i in ESCALATING) / len(read_as), 4)}
    handoffs = Counter(label for r, (_, label) in zip(readings, rows) if r.intent in ESCALATING)
    out["labels_opening_most_handoffs"] = dict(handoffs.most_common(8))
    out["handoff_examples"] = [f"{text} ({label}) -> {r.intent.value}"
                               for r, (text, label) in zip(readings, rows) if r.intent in ESCALATING][:15]
    return out


def per_message_microseconds(reader: TrainedReader, texts: Sequence[str], rounds: int = 3) -> float:
    """Mean cost of reading one message in its own call once its vector is cached: the reading's share of
    a turn, beyond the embedding that retrieval needs anyway."""
    texts = list(texts)
    reader.read(texts)  # fills the vector cache
    started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            reader.read([text])
    return (time.perf_counter() - started) / (rounds * len(texts)) * 1e6


def run(examples_dir: str | Path = EXAMPLES, clinc: str | Path | None = None) -> dict:
    started = time.perf_counter()
    train, held_out = held_out_split(read_examples(examples_dir))
    reader = TrainedReader.train(train)
    trained = time.perf_counter()
    result: dict = {"train_lines": len(train), "held_out_lines": len(held_out),
                    "threshold": round(reader.threshold, 4),
                    "out_of_fold": reader.fit_report,
                    "held_out": score_held_out(reader, held_out)}
    result["read_microseconds_per_message"] = round(per_message_microseconds(reader, [t for t, _ in held_out]), 1)
    if clinc is not None:
        clinc_started = time.perf_counter()
        result["clinc"] = score_clinc(reader, read_clinc(clinc))
        result["clinc"]["seconds"] = round(time.perf_counter() - clinc_started, 2)
    result["train_seconds"] = round(trained - started, 2)
    result["total_seconds"] = round(time.perf_counter() - started, 2)
    return result


def _print_text(result: dict) -> None:
    held = result["held_out"]
    print(f"trained on {result['train_lines']} lines in {result['train_seconds']} s; "
          f"held out {result['held_out_lines']}")
    print(f"threshold on P(person) + P(frustrated) {result['threshold']}; out of fold {result['out_of_fold']}")
    print(f"{'intent':<14}{'precision':>10}{'recall':>8}{'support':>9}")
    for intent, row in held["per_intent"].items():
        print(f"{intent:<14}{row['precision']:>10.3f}{row['recall']:>8.3f}{row['support']:>9}")
    print(f"accuracy {held['accuracy']:.3f}; escalation recall (person or frustrated read as either) "
          f"{held['escalation_recall']:.3f}")
    print(f"greeting/thanks/goodbye/off-topic read as person or frustrated: "
          f"{held['never_escalating_read_as_escalating']}; questions, instructions, bot identity and how-are-you: "
          f"{held['other_intents_read_as_escalating']} of {held['other_intents']}")
    for text in held["never_escalating_examples"]:
        print(f"  ! {text}")
    for text in held["escalating_misread"]:
        print(f"  missed: {text}")
    print(f"reading one message beyond its embedding: {result['read_microseconds_per_message']} µs")
    if "clinc" in result:
        clinc = result["clinc"]
        for part in ("out_of_scope", "in_scope"):
            shares = ", ".join(f"{k} {v:.1%}" for k, v in sorted(clinc[part]["read_as"].items(), key=lambda kv: -kv[1]))
            print(f"CLINC150 {part} ({clinc[part]['messages']}): handoff {clinc[part]['handoff_share']:.1%}; {shares}")
        print(f"CLINC150 labels opening most handoffs: {clinc['labels_opening_most_handoffs']}")
        print(f"CLINC150 read in {clinc['seconds']} s")
    print(f"total {result['total_seconds']} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supportbot eval reader",
                                     description="Train the message reader on 80 %% of its examples and score "
                                                 "the rest; optionally read CLINC150's messages.")
    parser.add_argument("--examples", default=str(EXAMPLES), help="folder of <intent>.txt example files")
    parser.add_argument("--clinc", default=None, metavar="PATH", help="CLINC150 JSONL file, e.g. val.jsonl")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        result = run(args.examples, args.clinc)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        _print_text(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
