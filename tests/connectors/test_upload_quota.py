"""What one client address or one conversation may keep in the file store, and how long an upload nobody sent
is kept: on the real app, the real Redis and the local store's directory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi.testclient import TestClient

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from service.asgi import create_app
from service.container import Container, build_container
from service.settings import Settings
from tests.connectors.test_console_files import PDF, agent_upload
from tests.connectors.test_webchat_api import agent_headers, start_conversation
from tests.connectors.test_widget_files import PNG, send_files, stored_files, upload

MB = 1024 * 1024


class Clock:
    """The ledger's clock, moved by the test instead of waiting an hour."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def quota_container(settings: Settings) -> AsyncIterator[Container]:
    settings.attachment_max_bytes = 1000
    settings.attachment_bytes_per_address = 2500  # type: ignore[attr-defined]
    settings.attachment_bytes_per_conversation = 2000  # type: ignore[attr-defined]
    settings.unsent_attachment_minutes = 60  # type: ignore[attr-defined]
    built = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                            answerer=FirstSentenceAnswerer())
    yield built
    await built.close()


@pytest.fixture
def clock(quota_container: Container) -> Clock:
    clock = Clock()
    quota_container.uploads.clock = clock  # type: ignore[attr-defined]
    return clock


@pytest.fixture
def quota(settings: Settings, quota_container: Container, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, quota_container)) as test_client:
        yield test_client


def test_one_address_cannot_fill_the_disk_at_the_default_limits(settings: Settings, container: Container) -> None:
    """The reported case: 10 MB uploads from one address, across conversations, were all kept."""
    with TestClient(create_app(settings, container)) as client:
        answers = []
        for _ in range(3):
            cid, headers = start_conversation(client)
            answers += [upload(client, cid, headers, b"x" * (10 * MB), "big.log") for _ in range(2)]
    assert [a.status_code for a in answers] == [201] * 5 + [429]
    refused = answers[-1]
    assert "per hour" in refused.json()["detail"] and int(refused.headers["Retry-After"]) > 0
    assert len(stored_files(settings)) == 5 * 2  # bytes and description of each kept file, nothing of the sixth


def test_the_address_quota_is_a_sliding_hour(quota: TestClient, clock: Clock, settings: Settings) -> None:
    kept = []
    for _ in range(2):
        cid, headers = start_conversation(quota)
        kept.append(upload(quota, cid, headers, b"a" * 1000, "a.log"))
    cid, headers = start_conversation(quota)
    refused = upload(quota, cid, headers, b"b" * 1000, "b.log")
    assert [r.status_code for r in kept] == [201, 201] and refused.status_code == 429
    assert refused.headers["content-type"] == "application/json"
    assert int(refused.headers["Retry-After"]) == 3600
    assert upload(quota, cid, headers, b"c" * 500, "c.log").status_code == 201  # what is left of the 2500
    assert len(stored_files(settings)) == 3 * 2
    clock.now += 3601
    assert upload(quota, cid, headers, b"d" * 1000, "d.log").status_code == 201


def test_a_conversation_holds_at_most_its_quota_and_nothing_partial_is_kept(quota: TestClient, clock: Clock,
                                                                             settings: Settings) -> None:
    cid, headers = start_conversation(quota)
    first = upload(quota, cid, headers, b"a" * 1000, "a.log").json()
    assert send_files(quota, cid, headers, [first["id"]], "the log").status_code == 202
    clock.now += 3601  # the address may upload again; the conversation still holds its file, sent
    assert upload(quota, cid, headers, b"b" * 900, "b.log").status_code == 201
    full = upload(quota, cid, headers, b"c" * 200, "c.log")
    assert full.status_code == 413 and "this conversation" in full.json()["detail"]
    assert len(stored_files(settings)) == 2 * 2
    other, other_headers = start_conversation(quota)
    assert upload(quota, other, other_headers, b"c" * 200, "c.log").status_code == 201


def test_agents_uploads_are_not_counted_against_the_customer(quota: TestClient) -> None:
    cid, _ = start_conversation(quota)
    assert [agent_upload(quota, cid, PDF * 20, "form.pdf").status_code for _ in range(4)] == [201] * 4


def test_an_upload_never_sent_expires_and_its_bytes_are_deleted(quota: TestClient, clock: Clock,
                                                                 settings: Settings) -> None:
    cid, headers = start_conversation(quota)
    sent = upload(quota, cid, headers, PNG, "sent.png").json()
    assert send_files(quota, cid, headers, [sent["id"]], "my screenshot").status_code == 202
    draft = upload(quota, cid, headers, b"d" * 1000, "draft.log").json()
    reply = agent_upload(quota, cid, PDF, "form.pdf").json()  # an agent's file, never sent either
    clock.now += 59 * 60
    later, later_headers = start_conversation(quota)
    upload(quota, later, later_headers, b"x", "x.log")  # each upload sweeps the expired ones
    assert draft["id"] in stored_files(settings)  # not yet an hour old
    clock.now += 2 * 60
    upload(quota, later, later_headers, b"y", "y.log")
    names = stored_files(settings)
    assert sent["id"] in names and f"{sent['id']}.json" in names
    assert draft["id"] not in names and f"{draft['id']}.json" not in names
    assert reply["id"] not in names
    assert quota.get(f"/api/agent/attachments/{draft['id']}", headers=agent_headers()).status_code == 404
    assert quota.get(f"/api/conversations/{cid}/attachments/{sent['id']}", headers=headers).status_code == 200
    late = send_files(quota, cid, headers, [draft["id"]], "here it is")
    assert late.status_code == 404 and "upload it first" in late.text
    # the expired file no longer counts against the conversation's 2000 bytes: the PNG and 1000 more fit
    assert upload(quota, cid, headers, b"e" * 1000, "e.log").status_code == 201
