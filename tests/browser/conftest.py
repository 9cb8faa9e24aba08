"""Browser tests: a real server + Celery worker, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AGENT_TOKEN = "browser-agent-token"


@dataclass
class Stack:
    base_url: str
    agent_token: str
    logs: dict[str, Path]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def log_tails(self, lines: int = 60) -> str:
        out = []
        for name, path in self.logs.items():
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            out.append(f"----- {name} ({path}) -----\n" + "\n".join(text[-lines:]))
        return "\n".join(out)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("supportbot")
    return [str(script)] if script.exists() else [shutil.which("supportbot") or "supportbot"]


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    # Own process group, so teardown also reaches Celery's child processes.
    return subprocess.Popen(_cli() + args, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def _wait_healthy(url: str, processes: list[subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in processes:
            if p.poll() is not None:
                raise RuntimeError(f"{p.args} exited with {p.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout} s")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    prefix = f"tb{uuid.uuid4().hex[:10]}"
    port = _free_port()
    env = {**os.environ, "SUPPORTBOT_REDIS_URL": redis_url, "SUPPORTBOT_REDIS_PREFIX": prefix,
           "SUPPORTBOT_DATA_DIR": str(tmp / "data"), "SUPPORTBOT_AGENT_TOKEN": AGENT_TOKEN,
           "SUPPORTBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    logs = {name: tmp / f"{name}.log" for name in ("ingest", "worker", "server")}
    running = Stack(f"http://127.0.0.1:{port}", AGENT_TOKEN, logs)
    try:
        # The worker needs no knowledge base, so it starts while the sample docs are ingested.
        running.processes.append(_spawn(["worker", "--concurrency", "1", "--loglevel", "info"], env, logs["worker"]))
        ingest = _spawn(["ingest", str(ROOT / "service" / "sample_docs"), "--quiet"], env, logs["ingest"])
        running.processes.append(ingest)
        if ingest.wait(timeout=180) != 0:
            raise RuntimeError("ingest failed")
        running.processes.append(_spawn(["serve", "--port", str(port), "--log-level", "warning"], env,
                                        logs["server"]))
        _wait_healthy(f"{running.base_url}/healthz", running.processes[-1:], timeout=60)
    except BaseException:
        for p in running.processes:
            _stop(p)
        raise RuntimeError(f"the stack did not start\n{running.log_tails()}")
    yield running
    for p in reversed(running.processes):
        _stop(p)
    client = redis.Redis.from_url(redis_url)
    for pattern in (f"{prefix}*", f"_kombu.binding.{prefix}*"):
        keys = list(client.scan_iter(match=pattern, count=500))
        if keys:
            client.delete(*keys)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failing browser test shows what the server and the worker logged."""
    outcome = yield
    report = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("stack")
    if report.failed and isinstance(running, Stack):
        report.sections.append(("supportbot processes", running.log_tails()))
