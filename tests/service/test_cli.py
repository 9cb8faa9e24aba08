"""Settings are validated at start, and the CLI says what is wrong in words a deployer can act on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


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
    assert escalated["decision"] == "escalated" and escalated["reason"] == "no_answer"
    assert escalated["text"] == "" and escalated["citations"] == []

    again = supportbot("ingest", str(docs), "--quiet", env=env, cwd=tmp_path)
    assert '"unchanged": 9' in again.stdout


def test_agents_get_a_display_name_and_avatar_apart_from_the_login(tmp_path: Path, redis_url: str,
                                                                    prefix: str) -> None:
    import json

    env = {"SUPPORTBOT_REDIS_URL": redis_url, "SUPPORTBOT_REDIS_PREFIX": prefix}
    added = subprocess.run([sys.executable, "-m", "service.cli", "agents", "add", "srivera", "--name", "Sam Rivera",
                            "--password-stdin"], input="sam-password\n", capture_output=True, text=True,
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
