"""`supportbot privacy erase` removes a customer's files with their messages, and one customer's id never
erases anyone else's data, whatever characters it holds."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.types import Message, Participant, Role
from connectors.console.auth import LoginAttempts
from service.asgi import create_app
from service.container import Container
from service.privacy import CustomerRecords
from service.settings import Settings
from tests.connectors.test_console_files import PDF, agent_upload
from tests.connectors.test_webchat_api import agent_headers, start_conversation
from tests.connectors.test_widget_files import PNG, send_files, stored_files, upload

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(settings: Settings, container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(settings, container)) as test_client:
        yield test_client


def erase_from_the_command_line(customer: str, settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env.update(SUPPORTBOT_REDIS_URL=str(settings.redis_url), SUPPORTBOT_REDIS_PREFIX=settings.redis_prefix,
               SUPPORTBOT_DATA_DIR=str(settings.data_dir))
    return subprocess.run([sys.executable, "-m", "service.cli", "privacy", "erase", customer], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_erase_deletes_the_customers_files_and_no_one_elses(client: TestClient, settings: Settings) -> None:
    cid, headers = start_conversation(client)
    sent = upload(client, cid, headers, PNG, "passport.png").json()
    assert send_files(client, cid, headers, [sent["id"]], "my passport").status_code == 202
    draft = upload(client, cid, headers, b"draft bytes", "draft.txt").json()  # uploaded, never sent
    reply = agent_upload(client, cid, PDF, "form.pdf").json()
    assert client.post(f"/api/agent/conversations/{cid}/reply", headers=agent_headers(),
                       json={"text": "Please sign this.", "attachments": [reply["id"]]}).status_code == 200
    other, other_headers = start_conversation(client)
    theirs = upload(client, other, other_headers, PNG, "theirs.png").json()
    send_files(client, other, other_headers, [theirs["id"]], "someone else's file")
    customer = client.get(f"/api/agent/conversations/{cid}", headers=agent_headers()).json()["state"]["customer"]
    mine = {sent["id"], draft["id"], reply["id"]}
    assert mine <= set(stored_files(settings))

    erased = erase_from_the_command_line(customer["id"], settings)

    assert erased.returncode == 0, erased.stderr
    assert '"files": 3' in erased.stdout
    left = set(stored_files(settings))
    assert not {name for name in left if name.split(".")[0] in mine}  # bytes and descriptions
    assert {theirs["id"], f"{theirs['id']}.json"} <= left
    assert client.get(f"/api/agent/attachments/{sent['id']}", headers=agent_headers()).status_code == 404
    assert client.get(f"/api/conversations/{other}/attachments/{theirs['id']}",
                      headers=other_headers).status_code == 200


async def rasa_conversation(container: Container, sender_id: str) -> str:
    customer = Participant(role=Role.CUSTOMER, id=sender_id, name=sender_id)
    state = await container.dialogue.start("rasa", customer, conversation_id=f"rasa:{sender_id}")
    for n in range(2):
        await container.dialogue.handle(Message(conversation_id=state.id, channel="rasa", sender=customer,
                                                text=f"How do I reset my password? ({n})"))
    return state.id


async def marks(container: Container, pattern: str) -> list[bytes]:
    return [key async for key in container.redis.scan_iter(match=pattern)]


async def test_erasing_the_sender_id_star_keeps_every_other_conversations_marks(container: Container,
                                                                                  settings: Settings) -> None:
    star = await rasa_conversation(container, "*")
    bob = await rasa_conversation(container, "bob")
    bobs_marks = await marks(container, container.store.keys.seen(bob, "*"))
    stars_marks = f"{settings.redis_prefix}:seen:rasa:\\*:*"  # the pattern of "rasa:*"'s own marks, escaped
    assert len(bobs_marks) == 2 and len(await marks(container, stars_marks)) == 2

    erased = await CustomerRecords(container.redis, settings.redis_prefix, files=container.attachments).erase("*")

    assert erased["conversations"] == 1
    assert await container.redis.exists(*bobs_marks) == 2
    assert await container.store.load(bob) is not None and await container.store.load(star) is None
    assert await marks(container, stars_marks) == []


async def test_unlocking_the_name_star_clears_no_other_accounts_failures(container: Container,
                                                                          settings: Settings) -> None:
    attempts = LoginAttempts(container.redis, settings.redis_prefix)
    for name in ("alice", "bob"):
        assert await attempts.reserve(name, "10.0.0.1")
    assert await attempts.unlock("*") == 0
    assert await attempts.unlock("alice") == 1
    assert await attempts.unlock("bob") == 1
