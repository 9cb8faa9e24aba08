"""Browser tests: a real server + Celery worker, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import uuid
from typing import Any, Iterator

import pytest
import redis

from tests.browser.stack import AGENT_TOKEN, ROOT, Stack, free_port, spawn, stop, wait_healthy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    prefix = f"tb{uuid.uuid4().hex[:10]}"
    port = free_port()
    env = {**os.environ, "SUPPORTBOT_REDIS_URL": redis_url, "SUPPORTBOT_REDIS_PREFIX": prefix,
           "SUPPORTBOT_DATA_DIR": str(tmp / "data"), "SUPPORTBOT_AGENT_TOKEN": AGENT_TOKEN,
           "SUPPORTBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    logs = {name: tmp / f"{name}.log" for name in ("ingest", "worker", "server")}
    running = Stack(f"http://127.0.0.1:{port}", AGENT_TOKEN, logs)
    try:
        # The worker needs no knowledge base, so it starts while the sample docs are ingested.
        worker = ["worker", "--concurrency", "1", "--loglevel", "info"]
        running.processes.append(spawn(worker, env, logs["worker"]))
        ingest = spawn(["ingest", str(ROOT / "service" / "sample_docs"), "--quiet"], env, logs["ingest"])
        running.processes.append(ingest)
        if ingest.wait(timeout=180) != 0:
            raise RuntimeError("ingest failed")
        running.processes.append(spawn(["serve", "--port", str(port), "--log-level", "warning"], env,
                                        logs["server"]))
        wait_healthy(f"{running.base_url}/healthz", running.processes[-1:], timeout=60)
    except Exception as error:
        for p in running.processes:
            stop(p)
        raise RuntimeError(f"the stack did not start: {error}\n{running.log_tails()}") from error
    try:
        yield running
    finally:
        for p in reversed(running.processes):
            stop(p)
        client = redis.Redis.from_url(redis_url)
        # Celery's queue is named after the prefix too.
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
