"""Support analytics from the journal, counted honestly.

A bot resolution needs the customer's confirmation, or no return and no reopen within a window (72 h by
default). Automation rate = involvement (share of conversations the bot answered in) × resolution (share of
those it resolved). Vendors' headline "resolution rates" usually skip the second factor.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

DAY = 24 * 3600


class Row(BaseModel):
    day: str
    category: str
    channel: str
    phase: str
    conversations: int = 0
    # conversations in which a person was asked for (an escalation or a draft for review), counted once each
    conversations_to_people: int = 0
    customer_turns: int = 0
    answered_by_bot: int = 0
    # built-in replies (greetings, thanks, off-topic, refusals): no help-centre answer, and no handoff either
    built_in_replies: int = 0
    handoffs_avoided: int = 0
    asked_for_person_after_built_in: int = 0
    escalated: dict[str, int] = Field(default_factory=dict)
    drafts_unchanged: int = 0
    drafts_edited: int = 0
    drafts_rejected: int = 0
    first_human_reply_median_s: float | None = None
    first_human_reply_p90_s: float | None = None
    csat_average: float | None = None
    csat_responses: int = 0
    bot_involved: int = 0
    bot_resolved: int = 0
    bot_resolved_confirmed: int = 0
    reopened: int = 0
    involvement_rate: float = 0.0
    resolution_rate: float = 0.0
    automation_rate: float = 0.0
    reopen_rate: float = 0.0
    # language models: turns a model's text answered or drafted, its calls, tokens and what they cost
    model_turns: int = 0
    model_calls: int = 0
    model_failures: int = 0  # calls that failed, timed out or answered malformed (the next model was asked)
    model_input_tokens: int = 0
    model_output_tokens: int = 0
    model_cost: float = 0.0
    # conversations an action's answer resolved, by action: the answer was sent and no handoff followed it, or
    # the customer confirmed it resolved
    resolved_by_action: dict[str, int] = Field(default_factory=dict)


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d")


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def analytics(entries: Iterable[dict[str, Any]], *, now: float, window_s: float = 72 * 3600) -> list[Row]:
    """One row per (day the conversation started, category, channel, phase)."""
    conversations: dict[str, dict[str, Any]] = defaultdict(lambda: {"turns": [], "confirmed": False, "csat": [],
                                                                    "first_reply": None, "reviews": []})
    for e in entries:
        kind, cid = e.get("kind"), e.get("conversation_id")
        if cid is None:
            continue
        c = conversations[cid]
        if kind == "turn":
            c["turns"].append(e)
        elif kind == "csat":
            c["csat"].append(int(e["rating"]))
        elif kind == "confirmation":
            c["confirmed"] = c["confirmed"] or bool(e.get("resolved"))
        elif kind == "first_human_reply":
            c["first_reply"] = float(e["seconds"])
        elif kind == "review":
            c["reviews"].append(e["verdict"])

    rows: dict[tuple[str, str, str, str], Row] = {}
    waits: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    ratings: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
    for c in conversations.values():
        turns = sorted(c["turns"], key=lambda t: t.get("at", 0))
        if not turns:
            continue
        first = turns[0]
        key = (_day(first.get("at", now)), first.get("category", "general"), first.get("channel", "web"),
               first.get("phase", "full"))
        row = rows.setdefault(key, Row(day=key[0], category=key[1], channel=key[2], phase=key[3]))
        row.conversations += 1
        row.customer_turns += len(turns)
        built_in = [t for t in turns if t.get("handled_as")]
        answered = [t for t in turns if t["decision"] == "answered" and not t.get("handled_as")]
        escalated = [t for t in turns if t["decision"] in ("escalated", "drafted")]
        row.answered_by_bot += len(answered)
        row.conversations_to_people += bool(escalated)
        row.built_in_replies += len(built_in)
        # before built-in replies, off-topic questions, small talk and instructions each opened a handoff
        row.handoffs_avoided += len(built_in)
        if built_in:
            first_built_in = built_in[0].get("at", 0)
            row.asked_for_person_after_built_in += any(
                t.get("reason") == "requested" and t.get("at", 0) > first_built_in for t in escalated)
        count_models(row, turns)
        if action := resolving_action(turns, confirmed=c["confirmed"]):
            row.resolved_by_action[action] = row.resolved_by_action.get(action, 0) + 1
        for t in escalated:
            reason = t.get("reason") or "unknown"
            row.escalated[reason] = row.escalated.get(reason, 0) + 1
        for verdict in c["reviews"]:
            field = {"approved": "drafts_unchanged", "edited": "drafts_edited", "rejected": "drafts_rejected"}
            setattr(row, field[verdict], getattr(row, field[verdict]) + 1)
        if c["first_reply"] is not None:
            waits[key].append(c["first_reply"])
        ratings[key].extend(c["csat"])
        if answered:
            row.bot_involved += 1
            last_answer = answered[-1].get("at", 0)
            returned = any(t.get("at", 0) > last_answer for t in turns)
            if c["confirmed"] and not escalated:
                row.bot_resolved += 1
                row.bot_resolved_confirmed += 1
                row.reopened += returned
            elif not escalated and not returned and now - last_answer >= window_s:
                row.bot_resolved += 1
            elif any(t.get("at", 0) > last_answer for t in escalated):
                row.reopened += 1  # the bot's answer did not hold: the customer came back and needed a person
    for key, row in rows.items():
        if waits[key]:
            row.first_human_reply_median_s = round(statistics.median(waits[key]), 1)
            row.first_human_reply_p90_s = round(_p90(waits[key]), 1)
        if ratings[key]:
            row.csat_responses = len(ratings[key])
            row.csat_average = round(statistics.mean(ratings[key]), 2)
        row.involvement_rate = round(row.bot_involved / row.conversations, 4) if row.conversations else 0.0
        row.resolution_rate = round(row.bot_resolved / row.bot_involved, 4) if row.bot_involved else 0.0
        row.automation_rate = round(row.involvement_rate * row.resolution_rate, 4)
        row.reopen_rate = round(row.reopened / row.bot_involved, 4) if row.bot_involved else 0.0
    return sorted(rows.values(), key=lambda r: (r.day, r.category, r.channel, r.phase))


ACTION_ANSWERS = frozenset({"ok", "not_found"})  # a sign-in request or a failure answers nothing


def resolving_action(turns: list[dict[str, Any]], *, confirmed: bool) -> str | None:
    """The action whose answer, sent to the customer, resolved the conversation: its last such answer, with
    no handoff after it unless the customer confirmed the conversation resolved."""
    answers = [t for t in turns if t.get("decision") == "answered" and t.get("action")
               and (t["action"].get("result") or {}).get("status") in ACTION_ANSWERS]
    if not answers:
        return None
    last = answers[-1]
    handed_off = any(t.get("decision") in ("escalated", "drafted") and t.get("at", 0) > last.get("at", 0)
                     for t in turns)
    return str(last["action"]["name"]) if confirmed or not handed_off else None


FAILED_CALLS = frozenset({"error", "timeout", "malformed"})


def count_models(row: Row, turns: list[dict[str, Any]]) -> None:
    """Add the turns' model calls (journalled with each turn) to the row."""
    for t in turns:
        calls = t.get("model_calls") or []
        by = t.get("answered_by") or ""
        row.model_turns += bool(by) and by != "composer" and bool(t.get("text"))
        row.model_calls += len(calls)
        row.model_failures += sum(c.get("outcome") in FAILED_CALLS for c in calls)
        row.model_input_tokens += sum(int(c.get("input_tokens", 0)) for c in calls)
        row.model_output_tokens += sum(int(c.get("output_tokens", 0)) for c in calls)
        row.model_cost = round(row.model_cost + sum(float(c.get("cost", 0.0)) for c in calls), 6)


_BY_NAME = ("escalated", "resolved_by_action")  # counts by name: one JSON cell each
CSV_FIELDS = [f for f in Row.model_fields if f not in _BY_NAME] + list(_BY_NAME)


def to_csv(rows: list[Row]) -> str:
    import csv
    import io
    import json

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for r in rows:
        data = r.model_dump()
        for field in _BY_NAME:
            data[field] = json.dumps(data[field], sort_keys=True)
        writer.writerow(data)
    return out.getvalue()
