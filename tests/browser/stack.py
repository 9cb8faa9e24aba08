"""The processes a browser test talks to: `supportbot serve` and `supportbot worker`, on the real Redis."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.net import wait_healthy

ROOT = Path(__file__).resolve().parents[2]
AGENT_TOKEN = "browser-agent-token"
AGENTS = {"alice": ("Alice", "admin", "alice-password"), "bob": ("Bob", "agent", "bob-ferry-lantern-42")}


@dataclass
class Stack:
    base_url: str
    agent_token: str
    logs: dict[str, Path]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    serve_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    other_origins: dict[str, str] = field(default_factory=dict)  # "allowed" / "refused" -> origin

    @property
    def server(self) -> subprocess.Popen[bytes]:
        return self.processes[-1]

    def kill_server(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing; whatever Redis has is all that survives."""
        os.killpg(self.server.pid, signal.SIGKILL)
        self.server.wait()

    def start_server(self) -> None:
        self.processes.append(spawn(self.serve_args, self.env, self.logs["server"]))
        wait_healthy(f"{self.base_url}/healthz", [self.server], timeout=60)

    def log_tails(self, lines: int = 60) -> str:
        out = []
        for name, path in self.logs.items():
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            out.append(f"----- {name} ({path}) -----\n" + "\n".join(text[-lines:]))
        return "\n".join(out)


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("supportbot")
    return [str(script)] if script.exists() else [shutil.which("supportbot") or "supportbot"]


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    # Own process group, so teardown also reaches Celery's child processes.
    return subprocess.Popen(_cli() + args, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
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


