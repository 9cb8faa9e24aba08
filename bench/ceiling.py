"""Whether a proven confidence floor (bot/ceiling.py) keeps its promise, by simulation.

    python bench/ceiling.py --synthetic smooth --reviews 100 300 1000 --resamples 1000
    python bench/ceiling.py --pool pairs.jsonl          # lines {"confidence": 0.83, "right": true}
    python bench/ceiling.py --journal history.jsonl     # a `supportbot report export`, all categories pooled

The pool stands for the whole traffic. Each resample draws `n` reviewed turns from it (with replacement, so
they are exchangeable, as the method assumes), proves a floor on them, and the floor is then judged on the
pool itself: its true false-answer rate is the pool's rate at or above it, and a fresh test draw (`--test`
turns) gives the rate a deployment would see. Printed per `n`:

- `coverage`: the share of resamples whose floor's true rate is at most alpha (no floor answers nothing, so
  it keeps the promise); it must be at least 1 - delta;
- `coverage_on_test_draw`: the same judged on the test draw (noisier: a rate just under alpha on the pool
  is over it on about half of the draws);
- `median_answered_share`: the pool's share of turns at or above the floor (0 without a floor), and the
  best share any floor could have had (`oracle_share`, the lowest floor whose pool rate is at most alpha);
- `median_more_reviews_needed`: where no floor was proven, the reviews the result said were still needed,
  and `proven_after_more`: the share of those resamples that proved a floor once that many more came in;
- for contrast, `naive_coverage`: the floor that merely looks good on the reviews (observed rate ≤ alpha).

Synthetic pools: `smooth` (confidence uniform, P(false | c) = 0.5 (1 - c)^2: a floor near 0.45 answers
about 55 % at 5 %), `bumpy` (the same with a band 0.90-0.95 where a fifth of answers are false: the rate
does not fall steadily as the floor rises, the case the method's assumption leaves out), `sharp`
(most turns confident, P(false | c) = 0.5 (1 - c)).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from bot.ceiling import Ceiling, reviewed_turns

SYNTHETIC = ("smooth", "bumpy", "sharp")


def synthetic_pool(name: str, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, right) arrays drawn from a known model."""
    rng = np.random.default_rng(seed)
    if name == "sharp":
        confidence = rng.beta(5.0, 1.0, size)
        false = 0.5 * (1 - confidence)
    else:
        confidence = rng.random(size)
        false = 0.5 * (1 - confidence) ** 2
        if name == "bumpy":
            false = np.where((confidence >= 0.90) & (confidence < 0.95), 0.2, false)
    return np.round(confidence, 4), rng.random(size) >= false


def pool_from_pairs(path: Path) -> tuple[np.ndarray, np.ndarray]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return (np.array([float(r["confidence"]) for r in rows]), np.array([bool(r["right"]) for r in rows]))


def pool_from_journal(path: Path, edited: str) -> tuple[np.ndarray, np.ndarray]:
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    pairs = [p for group in reviewed_turns(entries, edited).values() for p in group]  # type: ignore[arg-type]
    return np.array([c for c, _ in pairs]), np.array([r for _, r in pairs])


class Pool:
    """The population: per candidate floor, how many turns clear it and how many of those are false."""

    def __init__(self, confidence: np.ndarray, right: np.ndarray, ceiling: Ceiling) -> None:
        self.confidence, self.right, self.ceiling = confidence, right, ceiling
        self.index = np.array([ceiling._index(float(c)) for c in confidence])
        grid = ceiling.grid
        counts = np.bincount(self.index, minlength=grid + 1)
        false = np.bincount(self.index, weights=~right, minlength=grid + 1)
        self.cleared = np.cumsum(counts[::-1])[::-1]  # turns at or above candidate j
        self.false_cleared = np.cumsum(false[::-1])[::-1]

    def rate(self, j: int) -> float:
        return float(self.false_cleared[j] / self.cleared[j]) if self.cleared[j] else 0.0

    def share(self, j: int) -> float:
        return float(self.cleared[j] / len(self.confidence))

    def oracle(self) -> int | None:
        """The lowest candidate whose rate on the whole pool is at most alpha, scanning down as the proof does."""
        best = None
        for j in range(self.ceiling.grid, -1, -1):
            if self.cleared[j] and self.rate(j) > self.ceiling.alpha:
                break
            best = j if self.cleared[j] else best
        return best


def naive_floor(confidence: np.ndarray, right: np.ndarray, ceiling: Ceiling) -> int | None:
    """The lowest candidate whose observed rate on the reviews is at most alpha: what reading it off gives."""
    index = np.array([ceiling._index(float(c)) for c in confidence])
    best = None
    for j in range(ceiling.grid, -1, -1):
        above = index >= j
        if above.any() and (~right[above]).mean() <= ceiling.alpha:
            best = j
    return best


def pairs(pool: Pool, drawn: np.ndarray) -> list[tuple[float, bool]]:
    return list(zip(pool.confidence[drawn].tolist(), pool.right[drawn].tolist(), strict=True))


def simulate(pool: Pool, n: int, resamples: int, test: int, rng: np.random.Generator) -> dict[str, Any]:
    ceiling, alpha, size = pool.ceiling, pool.ceiling.alpha, len(pool.confidence)
    covered = covered_on_test = proven = naive_covered = 0
    shares: list[float] = []
    floors: list[float] = []
    more: list[int] = []
    proven_after_more = 0
    for _ in range(resamples):
        drawn = rng.integers(0, size, n)
        result = ceiling.floor_for(pairs(pool, drawn))
        naive = naive_floor(pool.confidence[drawn], pool.right[drawn], ceiling)
        naive_covered += naive is None or pool.rate(naive) <= alpha
        if result.floor is None:
            if result.more_reviews_needed is not None:  # were that many more enough?
                more.append(result.more_reviews_needed)
                extra = np.concatenate([drawn, rng.integers(0, size, result.more_reviews_needed)])
                proven_after_more += ceiling.floor_for(pairs(pool, extra)).floor is not None
            covered += 1
            covered_on_test += 1
            shares.append(0.0)
            continue
        j = round(result.floor * ceiling.grid)
        proven += 1
        floors.append(result.floor)
        covered += pool.rate(j) <= alpha
        shares.append(pool.share(j))
        seen = rng.integers(0, size, test)
        answered = pool.index[seen] >= j
        covered_on_test += not answered.any() or float((~pool.right[seen][answered]).mean()) <= alpha
    return {"reviews": n, "resamples": resamples, "proven": round(proven / resamples, 3),
            "coverage": round(covered / resamples, 3),
            "coverage_on_test_draw": round(covered_on_test / resamples, 3),
            "median_answered_share": round(statistics.median(shares), 3),
            "median_floor": round(statistics.median(floors), 2) if floors else None,
            "median_more_reviews_needed": statistics.median(more) if more else None,
            "proven_after_more": round(proven_after_more / len(more), 3) if more else None,
            "naive_coverage": round(naive_covered / resamples, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--synthetic", choices=SYNTHETIC, default="smooth")
    source.add_argument("--pool", type=Path, help='JSON lines {"confidence": float, "right": bool}')
    source.add_argument("--journal", type=Path, help="a journal export: its reviewed turns, categories pooled")
    parser.add_argument("--pool-size", type=int, default=200_000, help="synthetic: turns in the pool")
    parser.add_argument("--reviews", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--test", type=int, default=20_000, help="turns in each fresh test draw")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--delta", type=float, default=0.10)
    parser.add_argument("--edited", choices=["substantial", "wrong"], default="substantial")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    ceiling = Ceiling(alpha=args.alpha, delta=args.delta)
    if args.pool:
        confidence, right = pool_from_pairs(args.pool)
        name = str(args.pool)
    elif args.journal:
        confidence, right = pool_from_journal(args.journal, args.edited)
        name = str(args.journal)
    else:
        confidence, right = synthetic_pool(args.synthetic, args.pool_size, args.seed)
        name = f"synthetic {args.synthetic}"
    pool = Pool(confidence, right, ceiling)
    oracle = pool.oracle()
    rng = np.random.default_rng(args.seed + 1)
    runs = []
    for n in args.reviews:
        began = time.perf_counter()
        runs.append({**simulate(pool, n, args.resamples, args.test, rng),
                     "seconds": round(time.perf_counter() - began, 1)})
    print(json.dumps({"pool": name, "turns": len(confidence), "false_share": round(float((~right).mean()), 3),
                      "alpha": args.alpha, "delta": args.delta, "min_reviews": ceiling.min_reviews,
                      "oracle_floor": None if oracle is None else oracle / ceiling.grid,
                      "oracle_share": None if oracle is None else round(pool.share(oracle), 3),
                      "runs": runs, "seconds": round(time.perf_counter() - started, 1)}, indent=2))


if __name__ == "__main__":
    main()
