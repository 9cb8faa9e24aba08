"""Open-loop load: turns arrive at a fixed average rate whatever the server's pace (Poisson arrivals).

    python bench/openloop.py --url http://127.0.0.1:8000 --rate 100 --seconds 30

A closed loop waits for each answer before asking again, so a slow server is offered less work; real
customers do not wait for each other. Each arrival takes an idle conversation (or starts one) and sends
one uniquely worded question; its latency counts from the moment it was due, so a backlog shows.
Prints p50/p95/p99 and the number of failed turns (HTTP errors, timeouts, refused connections).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.turns import QUESTIONS, ask, new_conversation, percentile, session, worded_once  # noqa: E402


class Conversations:
    """Idle conversations to reuse; one that was handed to a person is dropped."""

    def __init__(self, client: aiohttp.ClientSession) -> None:
        self.client = client
        self.idle: list[tuple[str, dict[str, str]]] = []

    async def take(self) -> tuple[str, dict[str, str]]:
        if self.idle:
            return self.idle.pop()
        return await new_conversation(self.client)


async def one_turn(pool: Conversations, due: float, latencies: list[float], errors: list[str]) -> None:
    try:
        cid, headers = await pool.take()
        decision = await ask(pool.client, cid, headers, worded_once(random.choice(QUESTIONS)))
        latencies.append(time.perf_counter() - due)
        if decision == "answered":
            pool.idle.append((cid, headers))
    except aiohttp.ClientResponseError as error:
        errors.append(f"HTTP {error.status}")
    except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as error:
        errors.append(type(error).__name__)


async def run(url: str, rate: float, seconds: float, seed: int = 7) -> dict[str, object]:
    rng = random.Random(seed)
    latencies: list[float] = []
    errors: list[str] = []
    async with session(url, 1000, timeout=300) as client:
        pool = Conversations(client)
        tasks: list[asyncio.Task[None]] = []
        started = time.perf_counter()
        due = started
        while due - started < seconds:
            due += rng.expovariate(rate)
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one_turn(pool, due, latencies, errors)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return {
        "offered_per_second": rate, "seconds": round(elapsed, 1), "turns": len(tasks),
        "completed_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
        "errors": len(errors), "error_kinds": {e: errors.count(e) for e in sorted(set(errors))},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--rate", type=float, default=100.0, help="turns per second offered")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.rate, args.seconds))))


if __name__ == "__main__":
    main()
