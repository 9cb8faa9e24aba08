"""`supportbot train categories` produces the artifact that the running bot gates with."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from bot.types import Decision, EscalationReason, Message, Participant, Role
from service.container import build_container
from service.settings import Settings
from tests.knowledge.test_classifier import INTENTS, OUT_OF_SCOPE

CUSTOMER = Participant(role=Role.CUSTOMER, id="c1")


async def test_trained_categorizer_routes_and_rejects(settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "labelled.jsonl"
    lines = [{"text": t, "label": label} for label, texts in INTENTS.items() for t in texts]
    lines += [{"text": t, "label": "oos"} for t in OUT_OF_SCOPE]
    data.write_text("\n".join(json.dumps(line) for line in lines))
    categories = tmp_path / "categories.yml"
    categories.write_text(yaml.safe_dump({"categories": [
        {"name": "reset_password", "phase": "full"}, {"name": "refund", "phase": "draft"},
        {"name": "shipping_status", "phase": "categorize"}, {"name": "cancel_subscription"},
        {"name": "talk_to_human"}]}))
    result = subprocess.run([sys.executable, "-m", "service.cli", "train", "categories", "--data", str(data)],
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1",
                            "SUPPORTBOT_CATEGORIES_FILE": str(categories)}, timeout=300)
    assert result.returncode == 0, result.stderr
    artifact = Path(json.loads(result.stdout)["artifact"])
    assert artifact == categories.with_suffix(".model") and artifact.exists()

    settings.categories_file = categories  # the artifact next to it is picked up at start
    bot = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                          answerer=FirstSentenceAnswerer())
    try:
        async def ask(text: str):  # type: ignore[no-untyped-def]
            state = await bot.dialogue.start("web", CUSTOMER)
            return (await bot.dialogue.handle(Message(conversation_id=state.id, channel="web", sender=CUSTOMER,
                                                      text=text))).outcome

        answered = await ask("how do i reset my password")
        assert answered.category == "reset_password" and answered.decision is Decision.ANSWERED
        drafted = await ask("how do i get a refund for my annual plan")
        assert drafted.category == "refund" and drafted.decision is not Decision.ANSWERED
        gated = await ask("where is my package")
        assert gated.category == "shipping_status" and gated.reason is EscalationReason.GATED
        outside = await ask("what is the boiling point of water on everest")
        assert outside.reason is EscalationReason.OUT_OF_SCOPE
        await bot.runner.drain()  # type: ignore[attr-defined]
    finally:
        await bot.close()


def test_training_on_a_malformed_file_fails_clearly(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "hello", "label": "greeting"}\nnot json\n')
    result = subprocess.run([sys.executable, "-m", "service.cli", "train", "categories", "--data", str(data),
                             "--out", str(tmp_path / "m.model")], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin"}, timeout=120)
    assert result.returncode == 2 and "bad.jsonl:2" in result.stderr
