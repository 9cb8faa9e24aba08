"""A rasa-sdk action server's action, run as a process, called as a supportbot action over its webhook."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.actions import ActionSpec, Identity
from connectors.actions.rasa import RasaActionRunner
from tests.actions.conftest import ROOT
from tests.net import free_port, wait_healthy

DEMO = Identity(verified=True, user_id="demo-customer", source="widget-jwt")
SPEC = ActionSpec.model_validate({
    "name": "order_status", "rasa": "action_order_status",
    "fields": [{"name": "order_id", "prompt": "What is your order number?"}],
    "failure": {"not_found_when": "order_state is none"},
    "reply": {"not_found": "No order {{ fields.order_id }} on your account."},
})


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log_path: Path = tmp_path_factory.mktemp("rasa") / "actions.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "rasa_sdk", "--actions", "tests.actions.rasa_actions",
                                   "--port", str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(f"http://127.0.0.1:{port}/health", [server], timeout=60, log=log_path)
            yield f"http://127.0.0.1:{port}/webhook"
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:  # Sanic's graceful shutdown waits for idle connections
                server.kill()
                server.wait(timeout=10)


@pytest.fixture
async def runner(action_server: str) -> AsyncIterator[RasaActionRunner]:
    built = RasaActionRunner(action_server, timeout=30)
    yield built
    await built.aclose()


async def test_the_action_answers_with_its_own_words_and_slots(runner: RasaActionRunner) -> None:
    result = await runner.run(SPEC, {"order_id": "1001"}, DEMO)
    assert result.status == "ok" and result.http_status == 200, result
    assert result.reply == "Order 1001 has shipped with DHL."
    assert result.data == {"order_state": "shipped", "carrier": "DHL", "checked_verified": True}


async def test_the_file_decides_not_found_from_the_returned_slots(runner: RasaActionRunner) -> None:
    result = await runner.run(SPEC, {"order_id": "1042"}, DEMO)
    assert result.status == "not_found" and result.reply == "No order 1042 on your account."


async def test_an_unknown_action_fails_and_unverified_customers_are_refused(runner: RasaActionRunner) -> None:
    missing = await runner.run(SPEC.model_copy(update={"rasa": "action_nowhere"}), {"order_id": "1001"}, DEMO)
    assert missing.status == "failed" and missing.http_status == 404 and "action_nowhere" in (missing.error or "")
    refused = await runner.run(SPEC, {"order_id": "1001"}, Identity.anonymous())
    assert refused.status == "refused"
