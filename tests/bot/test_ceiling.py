"""The proven confidence floor: exact binomial bounds, the fixed-sequence scan, its guarantee by simulation,
the labels it reads from the journal, and the floors reaching the gates."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from scipy.stats import beta, binom

from bot.ceiling import Ceiling, binomial_cdf, clopper_pearson_upper, proven_floors, reviewed_turns
from bot.gates import CategoryConfig, GateConfig, Thresholds, with_floors
from bot.reports import format_phase_report, phase_report
from bot.responder import Responder
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from bot.types import Phase

GRID = [(k, n) for n in (1, 2, 7, 45, 100, 1_000, 10_000, 100_000)
        for k in sorted({0, 1, 2, n // 50, n // 20, n // 10, n // 2, n - 1, n}) if 0 <= k <= n]


@pytest.mark.parametrize("p", [1e-4, 0.05, 0.3, 0.97])
def test_the_binomial_tail_matches_scipy(p: float) -> None:
    for k, n in GRID:
        expected = float(binom.cdf(k, n, p))
        assert binomial_cdf(k, n, p) == pytest.approx(expected, rel=1e-8, abs=1e-300), (k, n, p)


@pytest.mark.parametrize("delta", [0.01, 0.10, 0.3])
def test_the_upper_bound_is_clopper_pearson(delta: float) -> None:
    for k, n in GRID:
        expected = 1.0 if k == n else float(beta.ppf(1 - delta, k + 1, n - k))
        assert clopper_pearson_upper(k, n, delta) == pytest.approx(expected, rel=1e-9, abs=1e-15), (k, n)


def test_a_floor_with_no_false_answer_needs_45_reviews_at_the_defaults() -> None:
    ceiling = Ceiling()
    assert ceiling.min_reviews == 45
    assert clopper_pearson_upper(0, 45, 0.10) <= 0.05 < clopper_pearson_upper(0, 44, 0.10)
    short = ceiling.floor_for([(0.9, True)] * 44)
    assert short.floor is None and short.more_reviews_needed == 1
    enough = ceiling.floor_for([(0.9, True)] * 45)
    assert enough.floor == 0.9 and enough.answered == 45 and enough.more_reviews_needed == 0
    assert enough.upper_bound is not None and enough.upper_bound <= 0.05
    assert ceiling.floor_for([]).more_reviews_needed == 45


def test_too_few_reviews_never_prove_a_floor() -> None:
    rng = random.Random(3)
    ceiling = Ceiling()
    for n in range(0, 45):
        scored = [(rng.random(), True) for _ in range(n)]
        assert ceiling.floor_for(scored).floor is None


def test_the_floor_stops_where_false_answers_begin() -> None:
    """Confident turns are right, the less confident ones wrong: the floor sits above the wrong ones."""
    scored = [(0.95, True)] * 100 + [(0.60, False)] * 20 + [(0.30, True)] * 100
    result = Ceiling().floor_for(scored)
    assert result.floor == 0.95 and result.answered == 100 and result.false_answers == 0
    assert result.answered_share == pytest.approx(100 / 220)
    # at alpha 0.2 the floor 0.30 (20 false in 220) would pass, but the first failure (0.60: 20 in 120) ends
    # the scan: no floor below a failed one is ever looked at
    assert Ceiling(alpha=0.2).proves(20, 220) and not Ceiling(alpha=0.2).proves(20, 120)
    assert Ceiling(alpha=0.2).floor_for(scored).floor == 0.95


def test_a_rate_over_alpha_everywhere_is_out_of_reach() -> None:
    scored = [(c / 100, i != 0) for c in range(100) for i in range(5)]  # one in five false at every level
    result = Ceiling().floor_for(scored)
    assert result.floor is None and result.more_reviews_needed is None


def test_more_reviews_needed_is_computed_from_the_bound() -> None:
    """At one false answer in 30, the estimate is the fewest reviews at that rate whose bound reaches alpha,
    less those already in."""
    ceiling = Ceiling()
    scored = [(0.8, i % 30 != 0) for i in range(60)]  # 2 false in 60: the bound is still above 5 %
    result = ceiling.floor_for(scored)
    needed = ceiling.answered_needed(1 / 30)
    assert result.floor is None and needed is not None and needed > 60
    assert result.more_reviews_needed == needed - 60
    errors = math.floor(needed / 30 + 0.5)  # the same rate, in whole false answers
    assert clopper_pearson_upper(errors, needed, 0.10) <= 0.05
    more = ceiling.floor_for([(0.8, i >= errors) for i in range(needed)])
    assert more.floor == 0.8 and more.upper_bound is not None and more.upper_bound <= 0.05


def simulate(pool: list[tuple[float, bool]], n: int, resamples: int, seed: int,
             choose: str = "proven") -> tuple[float, float]:
    """Share of resamples whose floor keeps the pool's false-answer rate at most alpha, and the median share of
    the pool it answers. `choose="naive"` takes the lowest floor whose rate merely looked good on the reviews."""
    ceiling, rng = Ceiling(), random.Random(seed)
    on_pool: dict[float | None, tuple[float, float]] = {None: (0.0, 0.0)}

    def rate_and_share(floor: float | None) -> tuple[float, float]:
        if floor not in on_pool:
            above = [right for c, right in pool if c >= floor]  # type: ignore[operator]
            on_pool[floor] = (above.count(False) / len(above) if above else 0.0), len(above) / len(pool)
        return on_pool[floor]

    kept, shares = 0, []
    for _ in range(resamples):
        drawn = [rng.choice(pool) for _ in range(n)]
        if choose == "naive":
            floors = [j / 100 for j in range(101)
                      if (above := [r for c, r in drawn if c >= j / 100]) and above.count(False) <= 0.05 * len(above)]
            floor = min(floors) if floors else None
        else:
            floor = ceiling.floor_for(drawn).floor
        rate, share = rate_and_share(floor)
        kept += rate <= ceiling.alpha
        shares.append(share)
    return kept / resamples, sorted(shares)[len(shares) // 2]


def synthetic_pool(size: int, seed: int) -> list[tuple[float, bool]]:
    """Confidence uniform, P(false | c) = 0.5 (1 - c)^2: the floor near 0.46 answers about 54 % at 5 %."""
    rng = random.Random(seed)
    return [(c, rng.random() >= 0.5 * (1 - c) ** 2) for c in (round(rng.random(), 4) for _ in range(size))]


def test_the_guarantee_holds_by_simulation() -> None:
    pool = synthetic_pool(20_000, seed=11)
    resamples, delta = 300, Ceiling().delta
    slack = 3 * math.sqrt(delta * (1 - delta) / resamples)  # three Monte-Carlo standard errors
    coverage, share = simulate(pool, 400, resamples, seed=5)
    assert coverage >= 1 - delta - slack
    assert share > 0.2  # it does prove floors: never answering would keep the promise trivially
    naive, _ = simulate(pool, 400, resamples, seed=5, choose="naive")
    assert naive < 1 - delta - slack  # reading the floor off the reviews does not keep it


def journal() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    at = 1_000.0

    def add(**row: object) -> None:
        nonlocal at
        at += 1
        rows.append({"at": at, **row})

    add(kind="review", conversation_id="a", category="billing", verdict="approved", confidence=0.91)
    add(kind="review", conversation_id="b", category="billing", verdict="rejected", confidence=0.40)
    add(kind="review", conversation_id="c", category="billing", verdict="edited", similarity=0.97, confidence=0.8)
    add(kind="review", conversation_id="d", category="billing", verdict="edited", similarity=0.5, confidence=0.7)
    add(kind="review", conversation_id="e", category="billing", verdict="edited", confidence=0.6)  # no similarity
    add(kind="review", conversation_id="z", category="billing", verdict="approved", confidence=1.7)  # not one
    # an older review without its confidence: the journaled turn whose text the draft was gives it
    add(kind="turn", conversation_id="f", category="shipping", decision="drafted", text="Ships in 2 days.",
        confidence=0.55)
    add(kind="review", conversation_id="f", category="shipping", verdict="approved", original="Ships in 2 days.")
    # automatic answers the customer judged; the last word counts, once; built-in replies are not answers
    add(kind="turn", conversation_id="g", category="shipping", decision="answered", text="Use the form.",
        confidence=0.83)
    add(kind="confirmation", conversation_id="g", resolved=True)
    add(kind="confirmation", conversation_id="g", resolved=False)
    add(kind="turn", conversation_id="h", category="general", decision="answered", text="Hello!",
        handled_as="greeting", confidence=1.0)
    add(kind="confirmation", conversation_id="h", resolved=True)
    return rows


def test_labels_follow_the_reviews_and_the_customers_word() -> None:
    judged = reviewed_turns(journal())
    assert sorted(judged["billing"]) == [(0.4, False), (0.6, False), (0.7, False), (0.8, True), (0.91, True)]
    assert sorted(judged["shipping"]) == [(0.55, True), (0.83, False)]
    assert "general" not in judged
    strict = reviewed_turns(journal(), edited="wrong")
    assert sorted(strict["billing"]) == [(0.4, False), (0.6, False), (0.7, False), (0.8, False), (0.91, True)]


def test_the_phase_report_carries_each_categorys_ceiling() -> None:
    rows = [{"kind": "review", "category": "billing", "verdict": "approved", "confidence": 0.9}] * 60
    rows += [{"kind": "review", "category": "billing", "verdict": "rejected", "confidence": 0.2}] * 10
    rows += [{"kind": "review", "category": "returns", "verdict": "approved", "confidence": 0.9}] * 5
    gates = GateConfig(categories=[CategoryConfig(name="billing", phase=Phase.DRAFT),
                                   CategoryConfig(name="returns", phase=Phase.DRAFT)])
    report = {r.category: r for r in phase_report(rows, gates)}
    assert report["billing"].ceiling.floor == 0.9 and report["billing"].ceiling.reviewed == 70
    assert report["returns"].ceiling.floor is None and report["returns"].ceiling.more_reviews_needed == 40
    assert proven_floors({name: r.ceiling for name, r in report.items()}) == {"billing": 0.9}
    text = format_phase_report(list(report.values()))
    billing = next(line for line in text.splitlines() if line.startswith("billing"))
    assert " 0.90 " in billing and " 70 " in billing
    looser = {r.category: r for r in phase_report(rows, gates, ceiling=Ceiling(alpha=0.2))}
    assert looser["billing"].ceiling.floor == 0.9 and looser["billing"].ceiling.alpha == 0.2


def test_proven_floors_only_raise_the_configured_ones() -> None:
    gates = GateConfig(thresholds=Thresholds(min_confidence=0.35),
                       categories=[CategoryConfig(name="billing", thresholds=Thresholds(min_confidence=0.8))])
    raised = with_floors(gates, {"billing": 0.6, "shipping": 0.7, "general": 0.2})
    assert raised.thresholds_for("billing").min_confidence == 0.8  # configured higher: kept
    assert raised.thresholds_for("shipping").min_confidence == 0.7
    assert raised.thresholds_for("general").min_confidence == 0.35
    assert raised.thresholds_for("shipping").min_retrieval_score == gates.thresholds.min_retrieval_score
    assert gates.thresholds_for("shipping").min_confidence == 0.35  # the configuration itself is untouched


class StoredFloors:
    def __init__(self) -> None:
        self.floors: dict[str, float] = {}

    async def load(self) -> dict[str, float]:
        return dict(self.floors)

    async def replace(self, floors: dict[str, float]) -> None:
        self.floors = dict(floors)


async def test_the_responder_gates_with_the_stored_floors() -> None:
    stored = StoredFloors()
    responder = Responder(sample_knowledge(), FirstSentenceAnswerer(), GateConfig(), floors=stored)
    assert (await responder.current_gates()).thresholds_for("general").min_confidence == 0.35
    await stored.replace({"general": 0.9})
    assert (await responder.current_gates()).thresholds_for("general").min_confidence == 0.9
    await stored.replace({})
    assert (await responder.current_gates()).thresholds_for("general").min_confidence == 0.35


async def test_floors_stored_in_redis_reach_every_process(redis_url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    from service.redis_store import RedisProvenFloors

    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        writer, reader = RedisProvenFloors(redis, prefix), RedisProvenFloors(redis, prefix)
        assert await reader.load() == {}
        await writer.replace({"billing": 0.62, "returns": 0.9})
        assert await reader.load() == {"billing": 0.62, "returns": 0.9}
        await writer.replace({"returns": 0.85})  # billing no longer proves one: it loses its floor
        assert await reader.load() == {"returns": 0.85}
    finally:
        await redis.aclose()


async def test_the_report_stores_the_floors_when_they_apply_themselves(
        tmp_path: Path, redis_url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    from service.redis_store import RedisJournal, RedisProvenFloors

    gates = GateConfig(categories=[CategoryConfig(name="billing", phase=Phase.DRAFT)])
    categories = tmp_path / "categories.yml"
    categories.write_text(yaml.safe_dump(gates.model_dump(mode="json")))
    redis = Redis.from_url(redis_url, decode_responses=True)
    env = {"SUPPORTBOT_CATEGORIES_FILE": str(categories), "PATH": "/usr/bin:/bin", "SUPPORTBOT_DATA_DIR":
           str(tmp_path), "SUPPORTBOT_REDIS_URL": redis_url, "SUPPORTBOT_REDIS_PREFIX": prefix}
    try:
        journal = RedisJournal(redis, prefix)
        reviews = [{"conversation_id": f"c{i}", "category": "billing", "at": time.time() - 60 + i,
                    "verdict": "approved", "confidence": 0.75} for i in range(50)]
        for review in reviews:
            await journal.record("review", review)
        history = tmp_path / "history.jsonl"
        history.write_text("\n".join(json.dumps({"kind": "review", **r}) for r in reviews))
        applying = {**env, "SUPPORTBOT_CEILING_APPLY": "true"}
        recorded = subprocess.run([sys.executable, "-m", "service.cli", "report", "phases", "--json", "--history",
                                   str(history)], capture_output=True, text=True, check=True, env=applying)
        rows = {r["category"]: r for r in json.loads(recorded.stdout)}
        assert rows["billing"]["ceiling"]["floor"] == 0.75 and rows["billing"]["ceiling"]["reviewed"] == 50
        assert await RedisProvenFloors(redis, prefix).load() == {}  # a recorded file is not the deployment's own
        subprocess.run([sys.executable, "-m", "service.cli", "report", "phases"], capture_output=True, text=True,
                       check=True, env=applying)
        assert await RedisProvenFloors(redis, prefix).load() == {"billing": 0.75}
    finally:
        await redis.aclose()
