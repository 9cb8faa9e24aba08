"""Browser tests: a real server + Celery worker, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis

from tests.browser.stack import AGENT_TOKEN, AGENTS, ROOT, Stack, _cli, spawn, stop
from tests.net import QuietHandler, free_port, serve_in_background

EMBEDDING_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; background: {background}"><h1>{title}</h1>
<p>A shop on another origin that embeds the support widget.</p>
<script src="{api}/widget.js" data-api="{api}" data-title="Shop support" data-color="#0f766e"
        data-greeting="Hello from the shop!" data-position="left" async></script></body></html>"""


def serve_directory(directory: str) -> tuple[ThreadingHTTPServer, str]:
    class QuietFiles(QuietHandler, SimpleHTTPRequestHandler):
        pass

    server = serve_in_background(partial(QuietFiles, directory=directory))
    return server, f"http://127.0.0.1:{server.server_address[1]}"

# Debian's package; elsewhere scripts/services installs one and CHROMIUM names it (Ubuntu, macOS).
CHROMIUM = os.environ.get("CHROMIUM") or next(
    (path for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/snap/bin/chromium",
                       "/Applications/Chromium.app/Contents/MacOS/Chromium") if os.path.exists(path)),
    "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    prefix = f"tb{uuid.uuid4().hex[:10]}"
    port = free_port()
    pages = {}
    for name, background in (("allowed", "#f0fdfa"), ("refused", "#fef2f2")):
        folder = tmp / name
        folder.mkdir()
        (folder / "index.html").write_text(EMBEDDING_PAGE.format(
            title=f"Shop ({name} origin)", background=background, api=f"http://127.0.0.1:{port}"))
        pages[name] = serve_directory(str(folder))
    env = {**os.environ, "SUPPORTBOT_ALLOWED_ORIGINS": json.dumps([pages["allowed"][1]]),
           "SUPPORTBOT_REDIS_URL": redis_url, "SUPPORTBOT_REDIS_PREFIX": prefix,
           "SUPPORTBOT_DATA_DIR": str(tmp / "data"), "SUPPORTBOT_AGENT_TOKEN": AGENT_TOKEN,
           "SUPPORTBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    logs = {name: tmp / f"{name}.log" for name in ("ingest", "worker", "server")}
    running = Stack(f"http://127.0.0.1:{port}", AGENT_TOKEN, logs, env=env,
                    serve_args=["serve", "--port", str(port), "--log-level", "warning"],
                    other_origins={name: origin for name, (_, origin) in pages.items()})
    try:
        # The worker needs no knowledge base, so it starts while the sample docs are ingested.
        worker = ["worker", "--concurrency", "1", "--loglevel", "info"]
        running.processes.append(spawn(worker, env, logs["worker"]))
        ingest = spawn(["ingest", str(ROOT / "service" / "sample_docs"), "--quiet"], env, logs["ingest"])
        running.processes.append(ingest)
        if ingest.wait(timeout=180) != 0:
            raise RuntimeError("ingest failed")
        for username, (name, role, password) in AGENTS.items():  # the way an operator creates accounts
            subprocess.run(_cli() + ["agents", "add", username, "--name", name, "--role", role, "--password-stdin"],
                           input=password.encode(), env=env, cwd=ROOT, check=True, capture_output=True)
        running.start_server()
    except Exception as error:
        for p in running.processes:
            stop(p)
        raise RuntimeError(f"the stack did not start: {error}\n{running.log_tails()}") from error
    try:
        yield running
    finally:
        for p in reversed(running.processes):
            stop(p)
        for server, _ in pages.values():
            server.shutdown()
        client = redis.Redis.from_url(redis_url)
        # Celery's queue is named after the prefix too.
        for pattern in (f"{prefix}*", f"_kombu.binding.{prefix}*"):
            keys = list(client.scan_iter(match=pattern, count=500))
            if keys:
                client.delete(*keys)


@pytest.fixture(scope="package")
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
