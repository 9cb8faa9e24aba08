"""`supportbot eval transcripts`: replay recorded conversations through the current configuration.

Input lines: {"id": str, "turns": [{"customer": str, "approved": str, "category"?: str}]}
`approved` is the reply an agent approved or sent. The output says how many turns the bot would answer,
draft or escalate, and how close its answers are to the approved replies: a regression check before
changing thresholds or documents.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from bot.similarity import similarity
from bot.types import Message, Participant, Role
from knowledge.jsonl import json_objects


def read_transcripts(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    rows = []
    for number, row in json_objects(path):
        turns = row.get("turns")
        if not isinstance(turns, list) or not all(isinstance(t, dict) and isinstance(t.get("customer"), str)
                                                  and isinstance(t.get("approved"), str) for t in turns):
            raise ValueError(f"{path}:{number}: malformed transcript line: turns must be a list of "
                             "{customer, approved} strings")
        rows.append(row)
        if limit and len(rows) >= limit:
            break
    if not rows:
        raise ValueError(f"{path}: no transcripts")
    return rows


async def replay(transcripts: list[dict[str, Any]]) -> dict[str, Any]:
    from service.container import build_container
    from service.settings import load_settings

    container = build_container(load_settings(redis_url=None))
    counts = {"answered": 0, "drafted": 0, "escalated": 0}
    closeness: dict[str, list[float]] = {"answered": [], "drafted": []}
    per_category: dict[str, dict[str, int]] = {}
    try:
        for transcript in transcripts:
            for turn in transcript["turns"]:
                message = Message(conversation_id=str(transcript.get("id", "replay")), channel="web",
                                  sender=Participant(role=Role.CUSTOMER, id="replay"), text=turn["customer"])
                outcome = await container.dialogue.responder.respond(message)
                decision = outcome.decision.value
                counts[decision] += 1
                per_category.setdefault(outcome.category, {"answered": 0, "drafted": 0, "escalated": 0})
                per_category[outcome.category][decision] += 1
                if decision in closeness:
                    closeness[decision].append(similarity(outcome.text, turn["approved"]))
    finally:
        await container.close()
    total = sum(counts.values())
    return {
        "turns": total, **counts,
        "answer_rate": round(counts["answered"] / total, 4) if total else 0.0,
        "answered_similarity_median": round(statistics.median(closeness["answered"]), 4)
        if closeness["answered"] else None,
        "drafted_similarity_median": round(statistics.median(closeness["drafted"]), 4)
        if closeness["drafted"] else None,
        "per_category": per_category,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supportbot eval transcripts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        transcripts = read_transcripts(args.data, args.limit)
    except (OSError, ValueError) as error:
        print(f"supportbot: {error}", file=sys.stderr)
        return 2
    result = asyncio.run(replay(transcripts))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
    return 0
