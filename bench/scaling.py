"""Per-unit figures for capacity planning (docs/scaling.md), measured on real processes and a real Redis.

    python bench/scaling.py [--redis redis://127.0.0.1:6379/0] [--sockets 1000] [--json]

Ingests the sample help centre into a scratch data folder, then, under a key prefix of its own (deleted at
the end):
1. memory per open widget WebSocket: a `supportbot serve` process, batches of `--sockets` conversations each
   with its live socket held open; the growth of the process's RSS per socket, median over the batches;
2. Redis memory per conversation and per turn (customer message + bot reply): the summed `MEMORY USAGE` of
   the prefix's keys (and `INFO memory` used_memory, which other clients of the server move too);
3. turns/s per API process: closed-loop widget turns with unique questions, p50/p99, on uvicorn's h11 (what
   `supportbot serve` runs) and, launched with httptools instead for comparison, the same load again;
4. handoffs/s per worker: `--handoffs` escalations queued while no worker runs, then a `supportbot worker`
   (concurrency 1, then 2) drains them; the rate from its first finished task to its last, and the Redis
   memory each kept handoff holds.
Prints figures only; the machine's other load moves them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import run, turns  # noqa: E402

LIMITS = {rule: "1000000/minute" for rule in ("conversations", "messages", "messages_per_conversation", "live")}
HANDOFF_KINDS = {"broker", "handoff", "handoffs", "claim"}
# `supportbot serve` with uvicorn's HTTP parser chosen by BENCH_HTTP; the server's own options stay untouched
LAUNCH = ("import os, sys, service.asgi as a; a.SERVER_OPTIONS['http'] = os.environ.get('BENCH_HTTP', 'h11'); "
          "from service.cli import main; sys.exit(main())")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class Serve(run.DemoServer):
    """`supportbot serve` (one process) on a free port against Redis."""

    def __init__(self, env: dict[str, str], http: str = "h11") -> None:
        self.port = run.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "serve", "--port", str(self.port), "--log-level", "warning"],
            env={**env, "BENCH_HTTP": http}, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Keys:
    """The bench's own keys on a shared Redis: their summed memory, and their removal."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client, self.prefix = client, prefix

    def names(self, pattern: str = "*") -> list[bytes]:
        found = list(self.client.scan_iter(f"{self.prefix}{pattern}", count=1000))
        if pattern == "*":
            found += list(self.client.scan_iter(f"_kombu.binding*.{self.prefix}*", count=1000))
        return found

    def usage(self, pattern: str = "*") -> int:
        """Exact bytes of the matching keys (values, key names, per-key overhead)."""
        return sum(self.by_kind(pattern).values())

    def by_kind(self, pattern: str = "*") -> dict[str, int]:
        """Bytes per kind of key: `conv`, `hist`, `seen`, `journal:turn`, `rl`... (a journal per event kind)."""
        names = self.names(pattern)
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.memory_usage(name, samples=0)
        out: dict[str, int] = {}
        for name, size in zip(names, pipe.execute(), strict=True):
            parts = name.decode().removeprefix(self.prefix).lstrip(":").split(":")
            kind = ":".join(parts[:2]) if parts[0] == "journal" else parts[0]
            if not name.decode().startswith(f"{self.prefix}:"):  # the Celery queue and its kombu binding
                kind = "broker"
            out[kind] = out.get(kind, 0) + (size or 0)
        return out

    def used_memory(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    def commands(self) -> int:
        """Commands the server processed so far (all clients: a quiet server makes it this bench's)."""
        return int(self.client.info("stats")["total_commands_processed"])

    def delete(self) -> int:
        names = self.names()
        for start in range(0, len(names), 500):
            self.client.delete(*names[start:start + 500])
        return len(names)


async def conversations(client: aiohttp.ClientSession, count: int) -> list[tuple[str, dict[str, str]]]:
    gate = asyncio.Semaphore(50)

    async def one() -> tuple[str, dict[str, str]]:
        async with gate:
            return await turns.new_conversation(client)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def socket_memory(url: str, pid: int, per_batch: int, batches: int) -> dict[str, Any]:
    """Open `batches` batches of sockets, all held open; the process's RSS growth per socket of each batch."""
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    readers: list[asyncio.Task[None]] = []
    per_socket: list[float] = []

    async def drain(ws: aiohttp.ClientWebSocketResponse) -> None:  # answers pings, reads the backlog
        async for _ in ws:
            pass

    async with aiohttp.ClientSession(base_url=url, connector=aiohttp.TCPConnector(limit=0)) as client:
        gate = asyncio.Semaphore(100)

        async def open_one(cid: str, headers: dict[str, str]) -> None:
            async with gate:
                ws = await client.ws_connect(f"/api/conversations/{cid}/live",
                                             params={"token": headers["X-Conversation-Token"]})
            sockets.append(ws)
            readers.append(asyncio.create_task(drain(ws)))

        try:
            for _ in range(batches):
                batch = await conversations(client, per_batch)
                await asyncio.sleep(1)
                before = rss_bytes(pid)
                await asyncio.gather(*(open_one(cid, headers) for cid, headers in batch))
                await asyncio.sleep(2)
                per_socket.append((rss_bytes(pid) - before) / per_batch)
            open_now = sum(1 for ws in sockets if not ws.closed)
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            for reader in readers:
                reader.cancel()
    return {"sockets_per_batch": per_batch, "batches": batches, "open_at_end": open_now,
            "bytes_per_socket": [round(b) for b in per_socket],
            "median_bytes_per_socket": round(statistics.median(per_socket)), "rss_after_mb": None}


async def store_memory(url: str, keys: Keys, count: int, messages: int) -> dict[str, Any]:
    """Redis bytes per new conversation, then per turn (the customer's message, the bot's reply, the dedup key)."""
    decisions: list[str] = []
    start, start_used = keys.by_kind(), keys.used_memory()
    async with turns.session(url, count + 10, timeout=600) as client:
        created = await conversations(client, count)
        mid, mid_used = keys.by_kind(), keys.used_memory()
        commands = keys.commands()

        async def talk(cid: str, headers: dict[str, str]) -> None:
            for i in range(messages):
                decisions.append(await turns.ask(client, cid, headers, turns.worded_once(
                    turns.QUESTIONS[i % len(turns.QUESTIONS)])))

        await asyncio.gather(*(talk(cid, headers) for cid, headers in created))
    commands = keys.commands() - commands - 1  # the INFO that reads it
    end, end_used = keys.by_kind(), keys.used_memory()
    turn_kinds = {kind: round((end.get(kind, 0) - mid.get(kind, 0)) / (count * messages)) for kind in end}
    # the turns that escalated leave handoffs (counted per handoff in step 4) and tasks for a worker to drain
    start_usage, mid_usage = sum(start.values()), sum(mid.values())
    end_usage = mid_usage + sum(end.get(k, 0) - mid.get(k, 0) for k in end if k not in HANDOFF_KINDS)
    return {"conversations": count, "turns_each": messages,
            "bytes_per_conversation": round((mid_usage - start_usage) / count),
            "bytes_per_turn": round((end_usage - mid_usage) / (count * messages)),
            "used_memory_per_conversation": round((mid_used - start_used) / count),
            "used_memory_per_turn": round((end_used - mid_used) / (count * messages)),
            "commands_per_turn": round(commands / (count * messages), 1),
            "per_turn_by_kind": {kind: size for kind, size in sorted(turn_kinds.items()) if size},
            "decisions": {d: decisions.count(d) for d in sorted(set(decisions))}}


def queue_escalations(redis_url: str, prefix: str, data_dir: Path, count: int) -> None:
    """`count` conversations escalated in this process, each leaving one `open_handoff` task on the broker."""
    from bot.testing import FirstSentenceAnswerer, sample_knowledge
    from bot.types import Decision, Message, Participant, Role
    from service.container import build_container
    from service.settings import Settings
    from workers.runner import CeleryTaskRunner

    settings = Settings(redis_url=redis_url, redis_prefix=prefix, data_dir=data_dir,  # type: ignore[call-arg]
                        agent_token="bench-agent-token", _env_file=None)

    async def escalate() -> None:
        container = build_container(settings, runner=CeleryTaskRunner(settings), knowledge=sample_knowledge(),
                                    answerer=FirstSentenceAnswerer())
        try:
            for _ in range(count):
                state = await container.dialogue.start("web", Participant(role=Role.CUSTOMER, id="c"))
                turn = await container.dialogue.handle(Message(
                    conversation_id=state.id, channel="web", sender=Participant(role=Role.CUSTOMER, id="c"),
                    text=f"I want to talk to a person (ref {uuid.uuid4().hex[:6]})"))
                if turn.outcome is None or turn.outcome.decision is not Decision.ESCALATED:
                    raise SystemExit("bench: a turn meant to escalate did not")
        finally:
            await container.close()

    asyncio.run(escalate())


def drain_rate(env: dict[str, str], count: int, concurrency: int, log: Path, timeout: float = 240) -> dict[str, Any]:
    """Start a worker on `count` queued handoffs; handoffs/s from its first finished task to its last."""
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "worker", "--concurrency", str(concurrency), "--loglevel", "info"],
        env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    stamps: list[float] = []
    deadline = time.monotonic() + timeout
    try:
        while len(stamps) < count and time.monotonic() < deadline:
            done = sum(1 for line in log.read_text(errors="replace").splitlines()
                       if "supportbot.open_handoff[" in line and "succeeded" in line)
            stamps += [time.perf_counter()] * (done - len(stamps))
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)
    if len(stamps) < count:
        raise SystemExit(f"bench: the worker finished {len(stamps)} of {count} handoffs; see {log}")
    return {"concurrency": concurrency, "handoffs": count,
            "handoffs_per_second": round((count - 1) / (stamps[-1] - stamps[0]), 1)}


def handoffs(redis_url: str, keys: Keys, env: dict[str, str], scratch: Path, count: int) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": []}
    for concurrency in (1, 2):
        before = keys.usage()
        handoffs_before = keys.usage(":handoff*")
        keys.client.delete(f"{keys.prefix}.tasks")  # escalations of the earlier steps would be drained too
        queue_escalations(redis_url, keys.prefix, scratch, count)
        out["runs"].append(drain_rate(env, count, concurrency, scratch / f"worker{concurrency}.log"))
        out["bytes_per_escalated_conversation"] = round((keys.usage() - before) / count)
        out["bytes_per_handoff_kept"] = round((keys.usage(":handoff*") - handoffs_before) / count)
    return out


def measure(args: argparse.Namespace) -> dict[str, Any]:
    prefix = f"bench-scaling-{uuid.uuid4().hex[:8]}"
    keys = Keys(redis.Redis.from_url(args.redis), prefix)
    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "prefix": prefix}
    with tempfile.TemporaryDirectory(prefix="supportbot-scaling-") as folder:
        scratch = Path(folder)
        env = {**run.environment(scratch), "SUPPORTBOT_REDIS_URL": args.redis, "SUPPORTBOT_REDIS_PREFIX": prefix,
               "SUPPORTBOT_RATE_LIMITS": json.dumps(LIMITS), "SUPPORTBOT_LIVE_SOCKETS_PER_ADDRESS": "1000000"}
        try:
            results["ingest"] = run.ingest(run.SAMPLE_DOCS, scratch)
            server = Serve(env)
            try:
                server.wait_ready()
                asyncio.run(turns.run(server.url, 2, 1, warmup=2, timeout=600))  # the encoder loaded before any figure
                results["idle_rss_mb"] = round(rss_bytes(server.process.pid) / 2**20, 1)
                results["sockets"] = asyncio.run(socket_memory(server.url, server.process.pid, args.sockets,
                                                               args.batches))
                results["sockets"]["rss_after_mb"] = round(rss_bytes(server.process.pid) / 2**20, 1)
                results["redis"] = asyncio.run(store_memory(server.url, keys, args.conversations, args.messages))
                results["turns_h11"] = asyncio.run(turns.run(server.url, args.customers, args.turns, warmup=8,
                                                             unique=True, timeout=600))
                results["serve_peak_rss_mb"] = round(server.peak_rss_mb())
            finally:
                server.stop()
            server = Serve(env, http="httptools")
            try:
                server.wait_ready()
                results["turns_httptools"] = asyncio.run(turns.run(server.url, args.customers, args.turns,
                                                                   warmup=8, unique=True, timeout=600))
            finally:
                server.stop()
            results["handoffs"] = handoffs(args.redis, keys, env, scratch, args.handoffs)
        finally:
            results["keys_deleted"] = keys.delete()
    return results


def table(r: dict[str, Any]) -> str:
    s, m, h = r["sockets"], r["redis"], r["handoffs"]
    t11, tht = r["turns_h11"], r["turns_httptools"]
    lines = [
        f"supportbot scaling figures, {r['started']}",
        "",
        "| unit | figure | how |",
        "|---|---|---|",
        f"| API process, idle (encoder and index loaded) | {r['idle_rss_mb']:,.0f} MB RSS | "
        "after a few warm-up turns |",
        f"| memory per open widget WebSocket | {s['median_bytes_per_socket'] / 1024:,.1f} KiB | median of "
        f"{s['batches']} batches of {s['sockets_per_batch']} (per batch: "
        + ", ".join(f"{b / 1024:.1f}" for b in s["bytes_per_socket"]) + f" KiB); {s['open_at_end']} open at the end, "
        f"RSS then {s['rss_after_mb']:,.0f} MB |",
        f"| Redis per conversation (created, no message yet) | {m['bytes_per_conversation']:,} B | MEMORY USAGE; "
        f"used_memory {m['used_memory_per_conversation']:,} B |",
        f"| Redis per turn (customer message + bot reply) | {m['bytes_per_turn']:,} B | MEMORY USAGE over "
        f"{m['conversations']} x {m['turns_each']} turns ({m['decisions']}), handoff keys and queued tasks apart; "
        f"used_memory {m['used_memory_per_turn']:,} B; by key: "
        + ", ".join(f"{kind} {size:,}" for kind, size in m["per_turn_by_kind"].items()) + " |",
        f"| Redis commands per turn (server-wide counter) | {m['commands_per_turn']:,} | |",
        f"| Redis per escalated conversation (1 turn + handoff) | {h['bytes_per_escalated_conversation']:,} B | "
        "MEMORY USAGE |",
        f"| Redis per handoff kept (handoff keys only) | {h['bytes_per_handoff_kept']:,} B | MEMORY USAGE |",
        f"| turns/s per API process, h11 | {t11['turns_per_second']:,.1f} turns/s | {t11['conversations']} customers, "
        f"p50 {t11['p50_ms']:,.0f} ms, p99 {t11['p99_ms']:,.0f} ms |",
        f"| turns/s per API process, httptools | {tht['turns_per_second']:,.1f} turns/s | p50 {tht['p50_ms']:,.0f} ms, "
        f"p99 {tht['p99_ms']:,.0f} ms; httptools/h11 {tht['turns_per_second'] / t11['turns_per_second']:.2f} |",
    ]
    for row in h["runs"]:
        lines.append(f"| handoffs/s per worker, concurrency {row['concurrency']} | {row['handoffs_per_second']:,.1f} "
                     f"handoffs/s | {row['handoffs']} queued `open_handoff` tasks drained |")
    lines += ["", f"API process peak RSS {r['serve_peak_rss_mb']:,} MB; {r['keys_deleted']} bench keys deleted"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--sockets", type=int, default=1000, help="WebSockets per batch")
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--conversations", type=int, default=50, help="conversations for the Redis figures")
    parser.add_argument("--messages", type=int, default=4, help="turns in each of them")
    parser.add_argument("--customers", type=int, default=20, help="closed loop: concurrent conversations")
    parser.add_argument("--turns", type=int, default=10, help="closed loop: turns each")
    parser.add_argument("--handoffs", type=int, default=200, help="queued handoffs per worker run")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = parser.parse_args()
    results = measure(args)
    if args.json:
        print(json.dumps(results, indent=1))
    print(table(results))


if __name__ == "__main__":
    main()
