"""Every speed figure of supportbot from one command, each next to the encoder's pace measured in the same run.

    python bench/run.py [--repeats 3] [--ingest PATH] [--json]

Starts the embedded demo server itself (sample help centre, rate limits lifted), then measures:
the encoder alone (one query per call, batches of 32, chunk-sized texts), closed-loop turns at 1, 20 and
50 concurrent conversations with unique questions, an open loop of Poisson arrivals (100 turns/s for 30 s),
the mean time per turn stage from the server's `/metrics`, ingestion of `--ingest` (default the sample
help centre) into a fresh Chroma in its own process, and the peak RSS of each process. With `--repeats N`
every measurement runs N times and the table shows medians. The machine's other load moves absolute
figures; the shares of the encoder's rate are what compare between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import encoder, openloop, stages, turns  # noqa: E402

RATE_LIMITS = '{"conversations":"100000/minute","messages":"100000/minute","messages_per_conversation":"100000/minute"}'
SAMPLE_DOCS = ROOT / "service" / "sample_docs"
CLOSED_LOOP = ((1, 100), (20, 10), (50, 10))  # (conversations, turns each); 100 turns for a steady p50 alone


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "SUPPORTBOT_DATA_DIR": str(data_dir), "SUPPORTBOT_RATE_LIMITS": RATE_LIMITS,
            "SUPPORTBOT_AGENT_TOKEN": "bench-agent-token", "SUPPORTBOT_ADMIN_PASSWORD": "bench-admin-password"}


class DemoServer:
    """`supportbot demo` in a child process on a free port, with a fresh data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "demo", "--port", str(self.port), "--log-level", "warning"],
            env=environment(data_dir), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_ready(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: the demo server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit("bench: the demo server did not start")

    def peak_rss_mb(self) -> float:
        return peak_rss_of(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def peak_rss_of(pid: int) -> float:
    """VmHWM of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ingest(folder: Path, data_dir: Path) -> dict[str, Any]:
    """`supportbot ingest` into a fresh Chroma in its own process: its summary and its peak RSS."""
    process = subprocess.Popen([sys.executable, "-m", "service.cli", "ingest", str(folder), "--quiet"],
                               env=environment(data_dir), cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"bench: ingest failed ({status})")
    summary = json.loads(output.strip().splitlines()[-1])
    return {**summary, "peak_rss_mb": usage.ru_maxrss / 1024}


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per numeric field, the median over runs; other fields from the first run."""
    out = dict(runs[0])
    for key, value in runs[0].items():
        values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and len(values) == len(runs):
            out[key] = statistics.median(values)
    return out


def one_round(args: argparse.Namespace, url: str, ingest_dir: Path) -> dict[str, dict[str, Any]]:
    """The encoder alone, the closed loops, the open loop and an ingest, once each."""
    single = encoder.single_rate()
    out: dict[str, dict[str, Any]] = {"encoder": {
        "single_per_second": single["per_second"], "single_p50_ms": single["p50_ms"],
        "batch32_per_second": encoder.batch_rate(encoder.unique_queries(320)),
        "chunks_per_second": encoder.batch_rate(encoder.chunk_texts(args.ingest)),
        "ingest_seconds": encoder.ingest_seconds(args.ingest)}}
    for conversations, each in CLOSED_LOOP:
        before = stages.scrape(url)
        row = asyncio.run(turns.run(url, conversations, each, warmup=0, unique=True, timeout=600))
        out[f"closed_{conversations}"] = {**row, "stages_ms": stages.mean_ms(before, stages.scrape(url))}
    before = stages.scrape(url)
    row = asyncio.run(openloop.run(url, args.rate, args.seconds))
    out["open"] = {**row, "stages_ms": stages.mean_ms(before, stages.scrape(url))}
    out["ingest"] = ingest(args.ingest, ingest_dir)
    return out


def measure(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with tempfile.TemporaryDirectory(prefix="supportbot-bench-") as scratch:
        server = DemoServer(Path(scratch) / "serve")
        try:
            server.wait_ready()
            asyncio.run(turns.run(server.url, 8, 2, warmup=8, unique=True, timeout=600))  # loads the server's encoder
            runs: dict[str, list[dict[str, Any]]] = {}
            for repeat in range(args.repeats):
                for name, figures in one_round(args, server.url, Path(scratch) / f"ingest{repeat}").items():
                    runs.setdefault(name, []).append(figures)
            results.update({name: median_of(values) for name, values in runs.items()})
            results["server_peak_rss_mb"] = server.peak_rss_mb()
        finally:
            server.stop()
    results["bench_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["repeats"] = args.repeats
    return results


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f} ms"


def table(r: dict[str, Any]) -> str:
    enc = r["encoder"]
    batch = enc["batch32_per_second"]
    lines = [
        f"supportbot bench, {r['started']}, medians of {r['repeats']} run(s)",
        "",
        "| measurement | throughput | share of encoder batch-32 | p50 | p95 | p99 | errors |",
        "|---|---|---|---|---|---|---|",
        f"| encoder, batches of 32 queries | {batch:,.1f} queries/s | 100 % | | | | |",
        f"| encoder, one query per call | {enc['single_per_second']:,.1f} queries/s | "
        f"{100 * enc['single_per_second'] / batch:.0f} % | {enc['single_p50_ms']:.1f} ms | | | |",
    ]
    for conversations, _ in CLOSED_LOOP:
        row = r[f"closed_{conversations}"]
        lines.append(f"| closed loop, {conversations} conversation{'s' if conversations > 1 else ''} | "
                     f"{row['turns_per_second']:,.1f} turns/s | {100 * row['turns_per_second'] / batch:.0f} % | "
                     f"{_ms(row['p50_ms'])} | | {_ms(row['p99_ms'])} | 0 |")
    o = r["open"]
    lines.append(f"| open loop, Poisson {o['offered_per_second']:.0f} turns/s offered for {o['seconds']:.0f} s | "
                 f"{o['completed_per_second']:,.1f} turns/s | {100 * o['completed_per_second'] / batch:.0f} % | "
                 f"{_ms(o['p50_ms'])} | {_ms(o['p95_ms'])} | {_ms(o['p99_ms'])} | {o['errors']} |")
    ing = r["ingest"]
    pace = ing.get("chunks_per_second")  # absent from the summary of releases before it was reported
    lines += [
        f"| ingest ({ing['chunks']} chunks, own process"
        + (f"; the encoder's load, {ing['encoder_load_seconds']:.2f} s, apart" if "encoder_load_seconds" in ing else "")
        + ") | "
        + ("n/a" if pace is None else f"{pace:,.1f} chunks/s") + " | "
        + ("n/a" if pace is None else f"{100 * pace / enc['chunks_per_second']:.0f} %")
        + f" of the encoder's {enc['chunks_per_second']:,.1f} chunks/s | | | | |",
    ]
    if "encoder_load_seconds" in ing and "ingest_seconds" in enc:  # releases before them did not report them
        lines.append(
            f"| ingest: the encoder's own time for all it embeds (chunks, answer blocks, titles) | "
            f"{enc['ingest_seconds']:.2f} s of {ing['seconds']:.2f} s | "
            f"{100 * enc['ingest_seconds'] / ing['seconds']:.0f} % | | | | |")
    lines += [
        "",
        "| mean time per turn (server `/metrics`) | turn | " + " | ".join(stages.STAGES) + " |",
        "|---|---|" + "---|" * len(stages.STAGES),
    ]
    for name, label in (("closed_1", "1 conversation"), ("closed_50", "50 conversations"), ("open", "open loop")):
        means = r[name]["stages_ms"]
        lines.append(f"| {label} | " + " | ".join(_ms(means[s]) for s in ("turn", *stages.STAGES)) + " |")
    lines += [
        "",
        f"peak RSS: server {r['server_peak_rss_mb']:,.0f} MB, ingest {ing['peak_rss_mb']:,.0f} MB, "
        f"bench client with its own encoder {r['bench_peak_rss_mb']:,.0f} MB",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--ingest", type=Path, default=SAMPLE_DOCS, help="folder to ingest (default: the sample)")
    parser.add_argument("--rate", type=float, default=100.0, help="open loop: turns per second offered")
    parser.add_argument("--seconds", type=float, default=30.0, help="open loop: duration")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = parser.parse_args()
    results = measure(args)
    if args.json:
        print(json.dumps(results, indent=1))
    print(table(results))


if __name__ == "__main__":
    main()
