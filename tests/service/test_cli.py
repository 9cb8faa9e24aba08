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
