"""Evidence for moving a category up or down the ladder, from the journal of turns, reviews and ratings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

from bot.ceiling import Ceiling, CeilingResult, Edited, reviewed_turns
from bot.gates import GateConfig
from bot.types import Phase


class Policy(BaseModel):
    """How much evidence a recommendation needs. Defaults are deliberately conservative."""

    min_samples: int = 20
    promote_unchanged_rate: float = 0.8
    max_reject_rate_to_promote: float = 0.05
    demote_reject_rate: float = 0.3
    demote_bad_rate: float = 0.15
    shadow_resolved_similarity: float = 0.6
    promote_shadow_rate: float = 0.6


class CategoryEvidence(BaseModel):
    category: str
    phase: Phase
    drafts_unchanged: int = 0
    drafts_edited: int = 0
    drafts_rejected: int = 0
    auto_answered: int = 0
    auto_later_escalated: int = 0
    auto_rated_badly: int = 0
    shadow_samples: int = 0
    shadow_would_resolve: int = 0
    recommendation: str = "stay"
    evidence: str = ""
    # the confidence floor the category's reviewed turns prove (drafts reviewed, answers the customer judged)
    ceiling: CeilingResult = Field(default_factory=CeilingResult)

    @property
    def reviewed(self) -> int:
        return self.drafts_unchanged + self.drafts_edited + self.drafts_rejected


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def recommend(e: CategoryEvidence, policy: Policy) -> tuple[str, str]:
    if e.phase is Phase.DRAFT:
        n = e.reviewed
        unchanged, rejected = _rate(e.drafts_unchanged, n), _rate(e.drafts_rejected, n)
        facts = (f"{n} drafts reviewed: {unchanged:.0%} of them approved unchanged, {rejected:.0%} rejected "
                 f"(promotion needs {policy.promote_unchanged_rate:.0%} unchanged)")
        if n >= policy.min_samples and rejected >= policy.demote_reject_rate:
            return "demote to categorize", facts
        if n >= policy.min_samples and unchanged >= policy.promote_unchanged_rate \
                and rejected <= policy.max_reject_rate_to_promote:
            return "promote to full", facts
        return "stay", facts + (f"; {policy.min_samples} reviews needed" if n < policy.min_samples else "")
    if e.phase is Phase.FULL:
        n = e.auto_answered
        bad = _rate(e.auto_later_escalated + e.auto_rated_badly, n)
        facts = (f"{n} automatic answers: {e.auto_later_escalated} later escalated, {e.auto_rated_badly} rated "
                 f"badly, so {bad:.0%} of them did not hold (demotion above {policy.demote_bad_rate:.0%})")
        if n >= policy.min_samples and bad > policy.demote_bad_rate:
            return "demote to draft", facts
        return "stay", facts
    n = e.shadow_samples
    resolved = _rate(e.shadow_would_resolve, n)
    facts = (f"{n} agent replies compared: the bot's answer would have resolved {resolved:.0%} of them "
             f"(promotion needs {policy.promote_shadow_rate:.0%})")
    if n >= policy.min_samples and resolved >= policy.promote_shadow_rate:
        return "promote to draft", facts
    return "stay", facts + (f"; {policy.min_samples} compared replies needed" if n < policy.min_samples else "")


def phase_report(entries: Iterable[dict[str, Any]], gates: GateConfig, channel: str = "web",
                 policy: Policy | None = None, ceiling: Ceiling | None = None,
                 edited: Edited = "substantial") -> list[CategoryEvidence]:
    """`entries` are journal records with a `kind`: turn, review, shadow, csat, confirmation."""
    policy, ceiling, entries = policy or Policy(), ceiling or Ceiling(), list(entries)
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        by_kind[entry["kind"]].append(entry)
    names = {c.name for c in gates.categories} | {e.get("category", "general") for k in ("turn", "review", "shadow")
                                                   for e in by_kind[k]}
    names -= {"oos", "unknown"}
    evidence = {n: CategoryEvidence(category=n, phase=gates.phase_for(n, channel)) for n in sorted(names)}

    for review in by_kind["review"]:
        e = evidence[review["category"]]
        field = {"approved": "drafts_unchanged", "edited": "drafts_edited", "rejected": "drafts_rejected"}
        setattr(e, field[review["verdict"]], getattr(e, field[review["verdict"]]) + 1)

    bad_conversations = {r["conversation_id"] for r in by_kind["csat"] if int(r["rating"]) <= 2}
    turns = sorted(by_kind["turn"], key=lambda t: t.get("at", 0))
    escalated_after: dict[str, float] = {}
    for t in turns:
        if t["decision"] == "escalated":
            escalated_after.setdefault(t["conversation_id"], t.get("at", 0))
    for t in turns:
        if t["decision"] != "answered" or t.get("category") not in evidence:
            continue
        e = evidence[t["category"]]
        e.auto_answered += 1
        later = escalated_after.get(t["conversation_id"])
        if later is not None and later >= t.get("at", 0):
            e.auto_later_escalated += 1
        elif t["conversation_id"] in bad_conversations:
            e.auto_rated_badly += 1

    for s in by_kind["shadow"]:
        if s.get("category") in evidence:
            e = evidence[s["category"]]
            e.shadow_samples += 1
            e.shadow_would_resolve += s["similarity"] >= policy.shadow_resolved_similarity

    judged = reviewed_turns(entries, edited)
    for e in evidence.values():
        e.recommendation, e.evidence = recommend(e, policy)
        e.ceiling = ceiling.floor_for(judged.get(e.category, []))
    return list(evidence.values())


def format_phase_report(rows: list[CategoryEvidence]) -> str:
    lines = [f"{'category':<20} {'phase':<10} {'unchanged':>9} {'edited':>6} {'rejected':>8} {'auto':>5} "
             f"{'bad':>4} {'floor':>5} {'bound':>6} {'reviews':>7} {'more':>5}  recommendation"]
    for r in rows:
        c = r.ceiling
        floor = "-" if c.floor is None else f"{c.floor:.2f}"
        bound = "-" if c.upper_bound is None else f"{c.upper_bound:.1%}"
        more = "-" if c.more_reviews_needed is None else str(c.more_reviews_needed)
        lines.append(f"{r.category:<20} {r.phase.value:<10} {r.drafts_unchanged:>9} {r.drafts_edited:>6} "
                     f"{r.drafts_rejected:>8} {r.auto_answered:>5} {r.auto_later_escalated + r.auto_rated_badly:>4}"
                     f" {floor:>5} {bound:>6} {c.reviewed:>7} {more:>5}  {r.recommendation}: {r.evidence}")
    if rows:
        c = rows[0].ceiling
        lines.append(f"floor: the lowest confidence whose answers are false at most {c.alpha:.0%} of the time, "
                     f"with {1 - c.delta:.0%} confidence; bound: that rate's upper bound at the floor; reviews: "
                     f"turns an agent or customer judged; more: reviews still needed (- : out of reach)")
    return "\n".join(lines)
