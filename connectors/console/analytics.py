"""Analytics for the console: the journal turned into rows (bot/analytics.py), totals, CSV and phase evidence."""

# No `from __future__ import annotations`: FastAPI must see the `Agent` alias as a real object.
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from bot.analytics import Row, _p90, analytics, to_csv
from bot.ceiling import Ceiling, Edited
from bot.confidence import Calibration
from bot.gates import GateConfig
from bot.reports import phase_report
from bot.store import Journal
from connectors.console.auth import ConsoleAuth, Identity

Days = Annotated[int, Query(ge=1, le=365)]
WindowHours = Annotated[float | None, Query(gt=0, le=24 * 90)]


def _rows(entries: list[dict[str, Any]], days: int, window_hours: float) -> list[Row]:
    cutoff = (datetime.now(UTC) - timedelta(days=days - 1)).strftime("%Y-%m-%d")
    return [r for r in analytics(entries, now=time.time(), window_s=window_hours * 3600) if r.day >= cutoff]


def totals(rows: list[Row], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Sums over the rows; rates recomputed from the sums (averaging rates would weigh small days too much)."""
    days = {r.day for r in rows}
    conversations = {e["conversation_id"] for e in entries if e.get("kind") == "turn"}
    waits = [float(e["seconds"]) for e in entries if e.get("kind") == "first_human_reply"
             and e.get("conversation_id") in conversations
             and datetime.fromtimestamp(e.get("at", 0), tz=UTC).strftime("%Y-%m-%d") in days]
    out: dict[str, Any] = {k: sum(getattr(r, k) for r in rows) for k in (
        "conversations", "conversations_to_people", "customer_turns", "answered_by_bot", "drafts_unchanged",
        "drafts_edited", "drafts_rejected", "bot_involved", "bot_resolved", "bot_resolved_confirmed", "reopened",
        "csat_responses", "built_in_replies", "handoffs_avoided", "asked_for_person_after_built_in",
        "model_turns", "model_calls", "model_failures", "model_input_tokens", "model_output_tokens")}
    out["model_cost"] = round(sum(r.model_cost for r in rows), 6)
    escalated: dict[str, int] = {}
    for r in rows:
        for reason, n in r.escalated.items():
            escalated[reason] = escalated.get(reason, 0) + n
    out["escalated"] = escalated
    by_action: dict[str, int] = {}
    for r in rows:
        for action, n in r.resolved_by_action.items():
            by_action[action] = by_action.get(action, 0) + n
    out["resolved_by_action"] = by_action
    rated = sum((r.csat_average or 0) * r.csat_responses for r in rows)
    out["csat_average"] = round(rated / out["csat_responses"], 2) if out["csat_responses"] else None
    involved, conv = out["bot_involved"], out["conversations"]
    out["involvement_rate"] = round(involved / conv, 4) if conv else 0.0
    out["resolution_rate"] = round(out["bot_resolved"] / involved, 4) if involved else 0.0
    out["automation_rate"] = round(out["involvement_rate"] * out["resolution_rate"], 4)
    out["reopen_rate"] = round(out["reopened"] / involved, 4) if involved else 0.0
    out["first_human_reply_median_s"] = round(statistics.median(waits), 1) if waits else None
    out["first_human_reply_p90_s"] = round(_p90(waits), 1) if waits else None
    return out


class CSVResponse(Response):
    media_type = "text/csv"


def analytics_router(auth: ConsoleAuth, journal: Journal, gates: Callable[[], Awaitable[GateConfig]], *,
                     default_window_hours: float = 72, calibration: Calibration | None = None,
                     ceiling: Ceiling | None = None, edited: Edited = "substantial",
                     ceiling_applies: bool = False,
                     model_budget: Callable[[], Awaitable[dict[str, Any]]] | None = None) -> APIRouter:
    """`model_budget`: the month's spending on language models (None: no models configured)."""
    ceiling = ceiling or Ceiling()
    router = APIRouter(prefix="/api/agent")
    Agent = Annotated[Identity, Depends(auth.identify)]

    @router.get("/analytics")
    async def figures(who: Agent, days: Days = 30, window_hours: WindowHours | None = None) -> dict[str, Any]:
        entries = await journal.export()
        window_hours = window_hours or default_window_hours
        rows = _rows(entries, days, window_hours)
        current = await gates()
        return {"days": days, "window_hours": window_hours, "rows": [r.model_dump() for r in rows],
                "totals": totals(rows, entries),
                "phase_report": [dict(e.model_dump(mode="json"), reviewed=e.reviewed)
                                 for e in phase_report(entries, current, ceiling=ceiling, edited=edited)],
                "ceiling": {"alpha": ceiling.alpha, "delta": ceiling.delta, "edited": edited,
                            "applies": ceiling_applies},
                "confidence": {"calibrated": calibration is not None,
                               "samples": calibration.samples if calibration else 0,
                               "accepted": calibration.accepted if calibration else 0,
                               "min_confidence": current.thresholds.min_confidence},
                "model_budget": await model_budget() if model_budget is not None else None}

    @router.get("/analytics.csv", response_class=CSVResponse,
                responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                                 "description": "one row per day, category, channel and phase"}})
    async def csv(who: Agent, days: Days = 30, window_hours: WindowHours | None = None) -> Response:
        rows = _rows(await journal.export(), days, window_hours or default_window_hours)
        return Response(to_csv(rows), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="supportbot-analytics-{days}d.csv"'})

    return router
