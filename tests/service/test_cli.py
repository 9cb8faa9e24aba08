"""Settings are validated at start, and the CLI says what is wrong in words a deployer can act on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.net import free_port, wait_healthy


def supportbot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    return subprocess.run([sys.executable, "-m", "service.cli", *args], env={**clean, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_a_bad_setting_stops_the_process_naming_the_variable(tmp_path: Path) -> None:
    result = supportbot("ask", "hello", env={"SUPPORTBOT_REDIS_URL": "http://localhost:6379"}, cwd=tmp_path)
    assert result.returncode != 0
    assert "invalid settings" in result.stderr and "SUPPORTBOT_REDIS_URL" in result.stderr
    result = supportbot("ask", "hello", env={"SUPPORTBOT_BUSINESS_HOURS": "sometimes"}, cwd=tmp_path)
    assert result.returncode != 0 and "mon-fri 09:00-17:00" in result.stderr


def test_several_processes_need_shared_state(tmp_path: Path) -> None:
    result = supportbot("serve", "--workers", "2", env={}, cwd=tmp_path)
    assert result.returncode != 0 and "--workers needs SUPPORTBOT_REDIS_URL" in result.stderr


def test_the_worker_needs_a_broker(tmp_path: Path) -> None:
    result = supportbot("worker", env={}, cwd=tmp_path)
    assert result.returncode != 0 and "SUPPORTBOT_REDIS_URL" in result.stderr


def test_ingest_then_ask_from_the_command_line(tmp_path: Path) -> None:
    docs = Path(__file__).resolve().parents[2] / "service" / "sample_docs"
    env = {"SUPPORTBOT_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    ingested = supportbot("ingest", str(docs), "--quiet", env=env, cwd=tmp_path)
    assert ingested.returncode == 0, ingested.stderr
    assert '"added": 9' in ingested.stdout

    import json

    answered = supportbot("ask", "How long do refunds take to appear?", "--json", env=env, cwd=tmp_path)
    outcome = json.loads(answered.stdout)
    assert outcome["decision"] == "answered" and "business days" in outcome["text"]
    assert outcome["citations"][0] == {"title": "Changing your billing plan and our refund policy",
                                       "source": "https://help.acme.cloud/articles/billing-plans-refunds"}
    assert 0 < outcome["confidence"] <= 1 and outcome["reason"] is None

    declined = json.loads(supportbot("ask", "Can you recommend a lasagna recipe?", "--json", cwd=tmp_path,
                                     env={**env, "SUPPORTBOT_OFF_TOPIC": "reply"}).stdout)
    assert declined["decision"] == "answered" and declined["handled_as"] == "off_topic"
    assert declined["text"].startswith("I can only help with") and declined["citations"] == []
    escalated = json.loads(supportbot("ask", "Can you recommend a lasagna recipe?", "--json", cwd=tmp_path,
                                      env={**env, "SUPPORTBOT_OFF_TOPIC": "escalate"}).stdout)
    assert escalated["decision"] == "escalated" and escalated["reason"] == "out_of_scope"
    assert escalated["text"] == "" and escalated["citations"] == []

    again = supportbot("ingest", str(docs), "--quiet", env=env, cwd=tmp_path)
    assert '"unchanged": 9' in again.stdout
    assert json.loads(again.stdout)["index"] == f"{tmp_path / 'data' / 'chroma'} (collection 'helpcenter')"

    port = free_port()  # a running server answers `ask --url` without loading a model in the command
    log = tmp_path / "server.log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], cwd=tmp_path,
                                  env={**clean, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", [server], timeout=180, log=log)
        remote = supportbot("ask", "How long do refunds take to appear?", "--url", f"http://127.0.0.1:{port}",
                            "--json", env={}, cwd=tmp_path)
        assert remote.returncode == 0, remote.stderr
        asked = json.loads(remote.stdout)
        assert asked["decision"] == "answered" and "business days" in asked["text"]
        assert asked["citations"][0]["source"] == "https://help.acme.cloud/articles/billing-plans-refunds"
    finally:
        server.terminate()
        server.wait(timeout=30)
    unreachable = supportbot("ask", "hello", "--url", f"http://127.0.0.1:{free_port()}", env={}, cwd=tmp_path)
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr


def test_ask_on_an_empty_knowledge_base_says_nothing_was_ingested(tmp_path: Path) -> None:
    result = supportbot("ask", "How do I reset my password?", env={"SUPPORTBOT_DATA_DIR": str(tmp_path / "data")},
                        cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert f"the knowledge base at {tmp_path / 'data' / 'chroma'}" in result.stderr
    assert "is empty: run `supportbot ingest FOLDER` first" in result.stderr


def test_every_argument_of_every_command_says_what_it_is() -> None:
    import argparse

    from service.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    silent = [f"{name} {action.dest}" for name, parser in commands.choices.items() for action in parser._actions
              if not action.help and not isinstance(action, argparse._HelpAction)]
    assert silent == []


def test_agents_get_a_display_name_and_avatar_apart_from_the_login(tmp_path: Path, redis_url: str,
                                                                    prefix: str) -> None:
    import json

    env = {"SUPPORTBOT_REDIS_URL": redis_url, "SUPPORTBOT_REDIS_PREFIX": prefix}
    added = subprocess.run([sys.executable, "-m", "service.cli", "agents", "add", "srivera", "--name", "Sam Rivera",
                            "--password-stdin"], input="quiet-lantern-river-97\n", capture_output=True, text=True,
                           env={**os.environ, **env}, cwd=tmp_path, timeout=120)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["display_name"] == "Sam Rivera"
    bad = supportbot("agents", "profile", "srivera", "--avatar", "javascript:alert(1)", env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "avatar_url" in bad.stderr
    changed = supportbot("agents", "profile", "srivera", "--avatar", "https://cdn.example.test/sam.png",
                         env=env, cwd=tmp_path)
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout) == {"username": "srivera", "display_name": "Sam Rivera",
                                          "avatar_url": "https://cdn.example.test/sam.png", "role": "agent",
                                          "second_factor": False}
    listed = supportbot("agents", "list", env=env, cwd=tmp_path)
    assert listed.stdout.splitlines() == ["srivera\tagent\tSam Rivera"]
    missing = supportbot("agents", "profile", "nobody", "--name", "X", env=env, cwd=tmp_path)
    assert missing.returncode == 2 and "no agent named 'nobody'" in missing.stderr
