"""A real Celery worker process on the Redis broker turns low-confidence turns into exactly one handoff."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.desk import agent
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from bot.types import Decision, Message, Participant, Role
from service.container import build_container
from service.settings import Settings
from tests.net import QuietHandler, serve_in_background
from tests.waiting import wait_for
from workers.runner import CeleryTaskRunner

pytestmark = pytest.mark.slow


class Webhook:
    """Agents' incoming webhook: records calls; the first call can hang so the task is caught mid-flight."""

    def __init__(self, hang_first: float = 0.0) -> None:
        self.calls: list[bytes] = []
        hook = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                hook.calls.append(body)
                if len(hook.calls) == 1 and hang_first:
                    time.sleep(hang_first)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = serve_in_background(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", "worker", "--concurrency", "1", "--loglevel", "info"],
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def worker_env(settings: Settings) -> Iterator[dict[str, str]]:
    env = {**os.environ, "SUPPORTBOT_REDIS_URL": settings.redis_url or "", "SUPPORTBOT_REDIS_PREFIX":
           settings.redis_prefix, "SUPPORTBOT_DATA_DIR": str(settings.data_dir),
           "SUPPORTBOT_AGENT_TOKEN": "x", "SUPPORTBOT_TASK_VISIBILITY_TIMEOUT": "3",
           "SUPPORTBOT_REMINDER_SECONDS": "600"}
    yield env


def customer_message(conversation_id: str, text: str) -> Message:
    return Message(conversation_id=conversation_id, channel="web",
                   sender=Participant(role=Role.CUSTOMER, id="c"), text=text)


async def escalate_once(settings: Settings) -> tuple[str, str]:
    container = build_container(settings, runner=CeleryTaskRunner(settings), knowledge=sample_knowledge(),
                                answerer=FirstSentenceAnswerer())
    try:
        state = await container.dialogue.start("web", Participant(role=Role.CUSTOMER, id="c"))
        turn = await container.dialogue.handle(customer_message(state.id, "Is the moon made of cheese?"))
        assert turn.outcome is not None and turn.outcome.decision is Decision.ESCALATED
        assert turn.handoff_id
        return state.id, turn.handoff_id
    finally:
        await container.close()


def open_handoff_ids(redis_url: str, prefix: str) -> list[str]:
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    return client.zrange(f"{prefix}:handoffs:open", 0, -1)


async def test_worker_turns_a_low_confidence_question_into_one_handoff(
        settings: Settings, worker_env: dict[str, str], tmp_path: Path) -> None:
    hook = Webhook()
    worker_env["SUPPORTBOT_NOTIFY_WEBHOOK_URL"] = hook.url
    worker = start_worker(worker_env, tmp_path / "worker.log")
    try:
        conversation_id, handoff_id = await escalate_once(settings)
        wait_for(lambda: len(hook.calls) >= 1, 60, "agents to be notified by the worker")
        assert open_handoff_ids(settings.redis_url or "", settings.redis_prefix) == [handoff_id]
        assert b"moon made of cheese" in hook.calls[0]
    finally:
        stop(worker)
        hook.close()
    assert len(hook.calls) == 1, (tmp_path / "worker.log").read_text()


async def test_worker_killed_mid_task_still_yields_exactly_one_handoff(
        settings: Settings, worker_env: dict[str, str], tmp_path: Path) -> None:
    hook = Webhook(hang_first=30)
    worker_env["SUPPORTBOT_NOTIFY_WEBHOOK_URL"] = hook.url
    log = tmp_path / "worker.log"
    first = start_worker(worker_env, log)
    second = None
    try:
        conversation_id, handoff_id = await escalate_once(settings)
        wait_for(lambda: len(hook.calls) >= 1, 60, "the task to reach the agents' webhook")
        stop(first, signal.SIGKILL)  # the task is in flight: handoff stored, notification not finished, not acked
        second = start_worker(worker_env, log)
        wait_for(lambda: len(hook.calls) >= 2, 90, "the redelivered task to run again")
        assert open_handoff_ids(settings.redis_url or "", settings.redis_prefix) == [handoff_id]
    finally:
        stop(first, signal.SIGKILL)
        if second is not None:
            stop(second)
        hook.close()


async def test_a_handoff_resolved_before_the_worker_ran_stays_resolved(
        settings: Settings, worker_env: dict[str, str], tmp_path: Path) -> None:
    """The agent is quicker than the worker: the conversation is the bot's again, and no queued handoff
    or agent notification comes after."""
    conversation_id, handoff_id = await escalate_once(settings)
    container = build_container(settings, runner=CeleryTaskRunner(settings))
    try:
        await container.desk.resolve(conversation_id, agent("alice"))
    finally:
        await container.close()
    hook = Webhook()
    worker_env["SUPPORTBOT_NOTIFY_WEBHOOK_URL"] = hook.url
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env, log)
    try:
        wait_for(lambda: any("supportbot.open_handoff[" in line and "succeeded" in line
                             for line in log.read_text(errors="replace").splitlines()), 60,
                 "the worker to run the handoff's job")
    finally:
        stop(worker)
        hook.close()
    assert open_handoff_ids(settings.redis_url or "", settings.redis_prefix) == []
    assert hook.calls == []
