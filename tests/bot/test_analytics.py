"""Analytics count a bot resolution only when it held: confirmed, or no return within the window."""

from __future__ import annotations

from bot.analytics import analytics, to_csv

H = 3600.0
T0 = 1_789_948_800.0  # midnight UTC, so every conversation below starts the same day


def turn(cid: str, at: float, decision: str, reason: str | None = None, category: str = "billing") -> dict:
    return {"kind": "turn", "conversation_id": cid, "at": at, "decision": decision, "reason": reason,
            "category": category, "channel": "web", "phase": "full"}


def test_resolution_involvement_automation_and_reopen() -> None:
    entries = [
        turn("confirmed", T0, "answered"), {"kind": "confirmation", "conversation_id": "confirmed",
                                            "resolved": True},
        turn("silent", T0 + 1, "answered"),                           # no return within the window: resolved
        turn("recent", T0 + 15 * H, "answered"),                      # answered 5 h ago: not yet
        turn("came-back", T0 + 2, "answered"), turn("came-back", T0 + 5 * H, "escalated", "requested"),
        turn("human-only", T0 + 3, "escalated", "no_answer"),
        {"kind": "first_human_reply", "conversation_id": "human-only", "seconds": 120.0},
        {"kind": "first_human_reply", "conversation_id": "came-back", "seconds": 600.0},
        {"kind": "csat", "conversation_id": "confirmed", "rating": 5},
        {"kind": "csat", "conversation_id": "came-back", "rating": 2},
    ]
    rows = analytics(entries, now=T0 + 20 * H, window_s=10 * H)
    assert len(rows) == 1
    row = rows[0]
    assert row.conversations == 5 and row.bot_involved == 4
    assert row.bot_resolved == 2 and row.bot_resolved_confirmed == 1
    assert row.reopened == 1 and row.escalated == {"requested": 1, "no_answer": 1}
    assert row.involvement_rate == 0.8 and row.resolution_rate == 0.5
    assert row.automation_rate == 0.4  # not the 0.8 "deflection" a vendor would show
    assert row.first_human_reply_median_s == 360.0 and row.csat_average == 3.5
    csv = to_csv(rows)
    assert csv.splitlines()[0].startswith("day,category,channel,phase") and "billing" in csv
