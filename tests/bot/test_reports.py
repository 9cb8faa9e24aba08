"""Promotion report: recorded histories give the recommendation a team lead would make."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

from bot.gates import GateConfig
from bot.reports import phase_report

GATES = GateConfig.model_validate({"categories": [
    {"name": "billing", "phase": "draft"}, {"name": "shipping", "phase": "draft"},
    {"name": "returns", "phase": "full"}, {"name": "account", "phase": "categorize"},
    {"name": "newish", "phase": "draft"}]})


RECENT = time.time() - 3600  # recorded an hour ago: well within the journal's retention


def history() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i in range(30):  # billing: 28 approved unchanged, 2 edited -> promote
        rows.append({"kind": "review", "category": "billing", "verdict": "approved" if i < 28 else "edited"})
    for i in range(25):  # shipping: 10 rejected of 25 -> demote
        rows.append({"kind": "review", "category": "shipping", "verdict": "rejected" if i < 10 else "approved"})
    for _ in range(3):  # newish: too little evidence
        rows.append({"kind": "review", "category": "newish", "verdict": "approved"})
    for i in range(20):  # returns: 20 automatic answers, 5 conversations escalated afterwards -> demote
        rows.append({"kind": "turn", "category": "returns", "decision": "answered", "conversation_id": f"r{i}",
                     "at": RECENT + 100.0 + i})
        if i < 5:
            rows.append({"kind": "turn", "category": "returns", "decision": "escalated",
                         "conversation_id": f"r{i}", "at": RECENT + 200.0 + i})
    for i in range(22):  # account: shadow answers close to what agents sent -> promote to draft
        rows.append({"kind": "shadow", "category": "account", "similarity": 0.9 if i < 18 else 0.2})
    return rows


def test_recommendations_follow_the_evidence() -> None:
    report = {r.category: r for r in phase_report(history(), GATES)}
    assert report["billing"].recommendation == "promote to full"
    assert report["shipping"].recommendation == "demote to categorize"
    assert report["newish"].recommendation == "stay" and "20 reviews needed" in report["newish"].evidence
    assert report["returns"].recommendation == "demote to draft"
    assert report["returns"].auto_later_escalated == 5
    assert report["account"].recommendation == "promote to draft"


def test_every_percentage_in_the_evidence_says_what_it_is_a_share_of() -> None:
    """A bare "(25%)" after a list of counts leaves the reader guessing which count it belongs to."""
    evidence = {r.category: r.evidence for r in phase_report(history(), GATES)}
    assert evidence["returns"] == ("20 automatic answers: 5 later escalated, 0 rated badly, so 25% of them did not "
                                   "hold (demotion above 15%)")
    assert evidence["billing"].startswith("30 drafts reviewed: 93% of them approved unchanged, 0% rejected")
    assert evidence["account"].startswith("22 agent replies compared: the bot's answer would have resolved 82% "
                                          "of them")
    for text in evidence.values():
        assert not re.search(r"\(\d+%\)", text), text


def test_report_command_reads_a_recorded_history(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in history()))
    categories = tmp_path / "categories.yml"
    categories.write_text(yaml.safe_dump(GATES.model_dump(mode="json")))
    result = subprocess.run([sys.executable, "-m", "service.cli", "report", "phases", "--history", str(path),
                             "--json"], capture_output=True, text=True, check=True,
                            env={"SUPPORTBOT_CATEGORIES_FILE": str(categories), "PATH": "/usr/bin:/bin",
                                 "SUPPORTBOT_DATA_DIR": str(tmp_path)})
    rows = {r["category"]: r["recommendation"] for r in json.loads(result.stdout)}
    assert rows["billing"] == "promote to full" and rows["shipping"] == "demote to categorize"


async def test_report_on_a_live_deployment_shows_phases_changed_in_the_console(
        tmp_path: Path, redis_url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    from bot.types import Phase
    from service.redis_store import RedisJournal, RedisPhaseOverrides

    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        journal = RedisJournal(redis, prefix)
        for row in history():
            await journal.record(str(row["kind"]), {k: v for k, v in row.items() if k != "kind"})
        await RedisPhaseOverrides(redis, prefix).set("billing", Phase.FULL)
        categories = tmp_path / "categories.yml"
        categories.write_text(yaml.safe_dump(GATES.model_dump(mode="json")))
        result = subprocess.run([sys.executable, "-m", "service.cli", "report", "phases", "--json"],
                                capture_output=True, text=True, check=True,
                                env={"SUPPORTBOT_CATEGORIES_FILE": str(categories), "PATH": "/usr/bin:/bin",
                                     "SUPPORTBOT_DATA_DIR": str(tmp_path), "SUPPORTBOT_REDIS_URL": redis_url,
                                     "SUPPORTBOT_REDIS_PREFIX": prefix})
    finally:
        await redis.aclose()
    rows = {r["category"]: r for r in json.loads(result.stdout)}
    assert rows["billing"]["phase"] == "full" and rows["shipping"]["phase"] == "draft"
    assert rows["billing"]["recommendation"] != "promote to full"
