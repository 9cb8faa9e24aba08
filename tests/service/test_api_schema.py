"""The published API schema is the truth: schemathesis drives a real server from it with every check it has.

Generated requests (valid and invalid, a bounded number per operation, the same ones on every run) must get no
server error, only documented status codes and content types, a response that fits the declared model, and a
rejection whenever the request breaks the schema.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.net import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
UNLIMITED = ('{"conversations": "100000/minute", "messages": "100000/minute", '
             '"messages_per_conversation": "100000/minute", "typing": "100000/minute", '
             '"feedback": "100000/minute", "login": "100000/minute", "uploads": "100000/minute", '
             '"uploads_per_conversation": "100000/minute"}')


def test_every_operation_answers_as_its_schema_says(tmp_path: Path, redis_url: str, prefix: str) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env.update(SUPPORTBOT_REDIS_URL=redis_url, SUPPORTBOT_REDIS_PREFIX=prefix, SUPPORTBOT_AGENT_TOKEN="schema-token",
               SUPPORTBOT_API_DOCS="true", SUPPORTBOT_DATA_DIR=str(tmp_path / "data"),
               SUPPORTBOT_RATE_LIMITS=UNLIMITED, HF_HUB_OFFLINE="1")
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port),
                                   "--ingest", str(ROOT / "service" / "sample_docs")],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", [server], timeout=180, log=log)
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run",
             f"http://127.0.0.1:{port}/openapi.json", "--checks", "all", "--max-examples", "15",
             "--generation-deterministic", "-H", "Authorization: Bearer schema-token", "--no-color"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    finally:
        server.terminate()
        server.wait(timeout=30)
    report = run.stdout[-6000:]
    assert run.returncode == 0, report
    assert "Server error" not in report and "Tested: " in report, report
