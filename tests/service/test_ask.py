"""`supportbot ask` answers as the server it stands for would (its categories, phases and phases changed on the
admin page), shows a draft's text, and by default opens nothing in the agents' queue; its lines are not buried in
other libraries' debug output."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.types import Phase
from service.cli import SAMPLE_DOCS, main
from service.container import build_knowledge
from service.redis_store import RedisHandoffQueue, RedisPhaseOverrides
from service.settings import Settings
from tests.net import free_port, wait_healthy

REFUNDS = "How long do refunds take?"
TOKEN = "ask-token"


def open_handoffs(redis_url: str, prefix: str) -> list[object]:
    async def listed() -> list[object]:
        client = aioredis.Redis.from_url(redis_url)
        try:
            return list(await RedisHandoffQueue(client, prefix).open_handoffs())
        finally:
            await client.aclose()

    return asyncio.run(listed())


def set_phase(redis_url: str, prefix: str, category: str, phase: Phase) -> None:
    async def change() -> None:
        client = aioredis.Redis.from_url(redis_url)
        try:
            await RedisPhaseOverrides(client, prefix).set(category, phase)
        finally:
            await client.aclose()

    asyncio.run(change())


@pytest.fixture
def deployment(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The sample help centre ingested into a data folder, and the environment a server there would read."""
    from knowledge.ingest import ingest_folder

    ingest_folder(build_knowledge(settings), SAMPLE_DOCS, progress=False)
    env = {"SUPPORTBOT_DATA_DIR": str(settings.data_dir), "SUPPORTBOT_REDIS_URL": str(settings.redis_url),
           "SUPPORTBOT_REDIS_PREFIX": settings.redis_prefix, "SUPPORTBOT_AGENT_TOKEN": TOKEN, "HF_HUB_OFFLINE": "1"}
    for name in ("SUPPORTBOT_API_DOCS", "SUPPORTBOT_DEMO_HISTORY", "SUPPORTBOT_LOG_FORMAT"):
        monkeypatch.setenv(name, "")  # so what `ask --demo` sets in this process is taken back afterwards
    for name in [n for n in os.environ if n.startswith("SUPPORTBOT_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    yield env


def test_local_ask_for_the_demo_uses_its_gates_shows_the_draft_and_opens_nothing(
        deployment: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--demo", REFUNDS, "--json"]) == 0
    drafted = json.loads(capsys.readouterr().out)
    assert (drafted["decision"], drafted["category"], drafted["phase"]) == ("drafted", "billing", "draft")
    assert "business days" in drafted["text"] and drafted["citations"]
    assert open_handoffs(deployment["SUPPORTBOT_REDIS_URL"], deployment["SUPPORTBOT_REDIS_PREFIX"]) == []

    assert main(["ask", "--demo", REFUNDS]) == 0  # the text a person would review, under its decision
    out = capsys.readouterr().out
    assert out.startswith("[drafted]") and "business days" in out

    # a phase moved on the admin page is the server's phase too (Redis mode: the same store)
    set_phase(deployment["SUPPORTBOT_REDIS_URL"], deployment["SUPPORTBOT_REDIS_PREFIX"], "billing", Phase.FULL)
    assert main(["ask", "--demo", REFUNDS, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "answered"

    assert main(["ask", REFUNDS, "--json"]) == 0  # without --demo on the demo's data folder: said, not guessed
    assert "add --demo to ask under its categories" in capsys.readouterr().err


def test_ask_prints_no_debug_lines_of_other_libraries(deployment: dict[str, str], tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    result = subprocess.run([sys.executable, "-m", "service.cli", "ask", "How do I reset my password?"],
                            env={**clean, **deployment}, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[answered]")
    assert "DEBUG" not in result.stderr and "bm25s" not in result.stderr, result.stderr


def test_ask_url_previews_under_the_servers_own_gates_and_opens_no_handoff(
        deployment: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port, log = free_port(), tmp_path / "server.log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "service.cli", "demo", "--port", str(port)], cwd=tmp_path,
                                  env={**clean, **deployment, "SUPPORTBOT_DEMO_HISTORY": "false"},
                                  stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    redis_url, prefix = deployment["SUPPORTBOT_REDIS_URL"], deployment["SUPPORTBOT_REDIS_PREFIX"]
    try:
        wait_healthy(f"{url}/healthz", [server], timeout=180, log=log)
        assert main(["ask", "--url", url, "--preview", REFUNDS, "--json"]) == 0
        previewed = json.loads(capsys.readouterr().out)
        assert (previewed["decision"], previewed["category"]) == ("drafted", "billing")
        assert "business days" in previewed["text"] and previewed["citations"]
        assert open_handoffs(redis_url, prefix) == [], "a preview opens nothing in the agents' queue"

        assert main(["ask", "--url", url, REFUNDS]) == 0  # as a customer: a real conversation and its draft
        out = capsys.readouterr().out
        assert out.startswith("[drafted]") and "business days" in out
        assert len(open_handoffs(redis_url, prefix)) == 1

        assert main(["ask", "--url", url, "--preview", "--token", "wrong", REFUNDS]) == 1
        assert "401" in capsys.readouterr().err
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_servers_logs_keep_other_libraries_debug_lines_out(tmp_path: Path) -> None:
    script = ("import logging\n"
              "from service.logs import configure_logging\n"
              "configure_logging('text', 'info')\n"
              "noisy = logging.getLogger('bm25s')\n"
              "noisy.setLevel(logging.DEBUG)  # what bm25s does when imported\n"
              "noisy.debug('Building index from tokens')\n"
              "noisy.warning('a warning of theirs')\n"
              "logging.getLogger('service.demo').info('demo history: 3 waiting')\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Building index" not in result.stderr
    assert "a warning of theirs" in result.stderr and "INFO service.demo: demo history: 3 waiting" in result.stderr
