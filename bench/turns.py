"""Turn throughput and latency of a running supportbot server.

    python bench/turns.py --url http://127.0.0.1:8000 --conversations 20 --turns 5

Each conversation is one customer: it asks its questions one after another (a turn ends when the
server has answered or escalated), while all conversations run at once. Prints turns/s and p50/p99.

All load comes from one address, so start the server under test with limits above the load, e.g.
SUPPORTBOT_RATE_LIMITS='{"conversations": "100000/minute", "messages": "100000/minute"}'.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid

import aiohttp

QUESTIONS = [
    "How do I reset my password?",
    "How long do refunds take?",
    "How do I turn on two-factor authentication?",
    "Can I export my data?",
    "What are the API rate limits?",
    "When is support open?",
    "How do I cancel my subscription?",
]


def worded_once(question: str) -> str:
    """The question with a reference number inside it, as customers add one: no embedding cache can answer
    it, and it stays one question (a trailing "(ref ...)" after the question mark read as a second one)."""
    return f"{question.rstrip('?')} (ref {uuid.uuid4().hex[:6]})?"


def session(url: str, connections: int, timeout: float) -> aiohttp.ClientSession:
    """Visitors' HTTP client. aiohttp takes a fifth of httpx's CPU per request, and the load generator shares
    the cores of the server it measures. Idle connections are dropped before the server's keep-alive timeout
    (uvicorn: 5 s) closes them: reusing one the server is closing fails a request for no fault of the server."""
    return aiohttp.ClientSession(base_url=url, timeout=aiohttp.ClientTimeout(total=timeout),
                                 connector=aiohttp.TCPConnector(limit=connections, keepalive_timeout=2.0))


async def new_conversation(client: aiohttp.ClientSession) -> tuple[str, dict[str, str]]:
    """A conversation's id and the headers its messages carry."""
    async with client.post("/api/conversations", json={}) as response:
        response.raise_for_status()
        created = await response.json()
    return created["conversation_id"], {"X-Conversation-Token": created["token"]}


async def ask(client: aiohttp.ClientSession, cid: str, headers: dict[str, str], text: str) -> str:
    """Send one customer message; the turn's decision."""
    async with client.post(f"/api/conversations/{cid}/messages", headers=headers,
                           json={"id": uuid.uuid4().hex, "text": text}) as response:
        response.raise_for_status()
        return str((await response.json())["decision"])


async def customer(client: aiohttp.ClientSession, turns: int, latencies: list[float], decisions: list[str],
                   unique: bool = False) -> None:
    cid, headers = await new_conversation(client)
    for i in range(turns):
        text = QUESTIONS[(hash(cid) + i) % len(QUESTIONS)]
        if unique:  # real customers word each question their own way: no embedding cache helps
            text = worded_once(text)
        started = time.perf_counter()
        decision = await ask(client, cid, headers, text)
        latencies.append(time.perf_counter() - started)
        decisions.append(decision)
        if decision != "answered":  # a person owns it now: start over as a new customer
            cid, headers = await new_conversation(client)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def run(url: str, conversations: int, turns: int, warmup: int, unique: bool = False,
              timeout: float = 60) -> dict[str, object]:
    latencies: list[float] = []
    decisions: list[str] = []
    async with session(url, max(conversations, warmup) + 10, timeout) as client:
        # warm-up: loads the encoder in every server process before anything is timed
        await asyncio.gather(*(customer(client, 2, [], []) for _ in range(warmup)))
        started = time.perf_counter()
        await asyncio.gather(*(customer(client, turns, latencies, decisions, unique) for _ in range(conversations)))
        elapsed = time.perf_counter() - started
    return {
        "conversations": conversations, "turns": len(latencies), "seconds": round(elapsed, 2),
        "turns_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "decisions": {d: decisions.count(d) for d in sorted(set(decisions))}, "unique_questions": unique,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=8, help="untimed conversations first")
    parser.add_argument("--unique", action="store_true",
                        help="make every question's text unique, so no embedding cache answers for the encoder")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.conversations, args.turns, args.warmup, args.unique))))


if __name__ == "__main__":
    main()
