"""Python actions, found through the `supportbot.actions` entry point group of an installed distribution."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.actions import ActionSpec, Identity
from connectors.actions.code import CodeActionRunner
from connectors.actions.dispatch import ActionDispatcher

DEMO = Identity(verified=True, user_id="demo-customer", source="widget-jwt")
HANDLERS = '''
import asyncio
from bot.actions import ActionResult

async def refund_status(fields, identity):
    if fields["order_id"] == "1001" and identity.user_id == "demo-customer":
        return {"refund": "sent", "amount": "249.00 EUR"}
    return {"refund": None}

async def own_verdict(fields, identity):
    return ActionResult(status="not_found", reply="custom not found")

async def broken(fields, identity):
    raise RuntimeError("billing API said no")

async def slow(fields, identity):
    await asyncio.sleep(5)
    return {}
'''


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A distribution on sys.path that registers handlers, as `pip install` of a company's package would."""
    (tmp_path / "company_actions.py").write_text(HANDLERS)
    meta = tmp_path / "company_actions-1.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: company-actions\nVersion: 1.0\n")
    (meta / "entry_points.txt").write_text(textwrap.dedent("""\
        [supportbot.actions]
        refund_status = company_actions:refund_status
        own_verdict = company_actions:own_verdict
        broken = company_actions:broken
        slow = company_actions:slow
        """))
    monkeypatch.syspath_prepend(str(tmp_path))


def spec(handler: str) -> ActionSpec:
    return ActionSpec.model_validate({
        "name": "refund", "handler": handler,
        "fields": [{"name": "order_id", "prompt": "Which order?"}],
        "failure": {"not_found_when": "refund is none"},
        "reply": {"default": "Your refund of {{ amount }} was {{ refund }}.", "not_found": "No refund for that order."},
    })


async def test_a_registered_function_answers(installed: None) -> None:
    runner = CodeActionRunner()
    found = await runner.run(spec("refund_status"), {"order_id": "1001"}, DEMO)
    assert found.status == "ok" and found.reply == "Your refund of 249.00 EUR was sent."
    missing = await runner.run(spec("refund_status"), {"order_id": "1042"}, DEMO)
    assert missing.status == "not_found" and missing.reply == "No refund for that order."
    verdict = await runner.run(spec("own_verdict"), {"order_id": "1"}, DEMO)
    assert verdict.status == "not_found" and verdict.reply == "custom not found"


async def test_failures_come_back_as_results(installed: None) -> None:
    runner = CodeActionRunner(timeout=0.3)
    broken = await runner.run(spec("broken"), {"order_id": "1"}, DEMO)
    assert broken.status == "failed" and broken.error == "RuntimeError: billing API said no"
    slow = await runner.run(spec("slow"), {"order_id": "1"}, DEMO)
    assert slow.status == "failed" and slow.error == "no answer within 0.3 s"
    unknown = await runner.run(spec("nowhere"), {"order_id": "1"}, DEMO)
    assert unknown.status == "failed" and unknown.error == "no handler 'nowhere' in entry points supportbot.actions"
    refused = await runner.run(spec("refund_status"), {"order_id": "1001"}, Identity.anonymous())
    assert refused.status == "refused"


async def test_the_dispatcher_sends_each_action_to_its_runner(installed: None) -> None:
    dispatcher = ActionDispatcher(code=CodeActionRunner())
    assert (await dispatcher.run(spec("refund_status"), {"order_id": "1001"}, DEMO)).status == "ok"
    rasa_spec = ActionSpec.model_validate({"name": "r", "rasa": "action_x"})
    result = await dispatcher.run(rasa_spec, {}, DEMO)
    assert result.status == "failed" and result.error == "no runner configured for action 'r' (rasa)"
