"""Customers send files from the widget and fetch the ones of their own conversation, on the real app with
the real Redis; agents see and download them in the console."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.files import Attachment, clean_filename
from bot.types import Message, new_id
from connectors.storage import LocalAttachmentStore
from service.asgi import create_app
from service.container import Container
from service.settings import Settings
from tests.connectors.test_webchat_api import agent_headers, client, history, say, start_conversation  # noqa: F401

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
                       "awAAAABJRU5ErkJggg==")
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"


def upload(client: TestClient, cid: str, headers: dict[str, str], data: bytes, filename: str) -> Any:
    return client.post(f"/api/conversations/{cid}/attachments", params={"filename": filename}, content=data,
                       headers={**headers, "Content-Type": "application/octet-stream"})


def send_files(client: TestClient, cid: str, headers: dict[str, str], ids: list[str], text: str = "") -> Any:
    return client.post(f"/api/conversations/{cid}/messages", json={"text": text, "attachments": ids},
                       headers=headers)


def stored_files(settings: Settings) -> list[str]:
    folder = settings.data_dir / "attachments"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_screenshot_alone_goes_to_a_person_and_both_sides_can_download_it(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    uploaded = upload(client, cid, headers, PNG, "screen shot.png")
    assert uploaded.status_code == 201, uploaded.text
    file = uploaded.json()
    assert (file["filename"], file["content_type"], file["size"]) == ("screen shot.png", "image/png", len(PNG))
    sent = send_files(client, cid, headers, [file["id"]])
    assert sent.status_code == 202, sent.text
    assert sent.json()["decision"] == "escalated" and sent.json()["owner"] == "pending_human"
    customer, ack = history(client, cid, headers)
    assert customer["text"] == "" and [a["id"] for a in customer["attachments"]] == [file["id"]]
    assert "can't read attachments" in ack["text"] and "support team" in ack["text"]
    mine = client.get(f"/api/conversations/{cid}/attachments/{file['id']}", headers=headers)
    assert mine.status_code == 200 and mine.content == PNG and mine.headers["content-type"] == "image/png"
    assert mine.headers["content-disposition"] == "attachment; filename*=UTF-8''screen%20shot.png"
    transcript = client.get(f"/api/agent/conversations/{cid}", headers=agent_headers()).json()["transcript"]
    assert transcript[0]["attachments"] == [{"id": file["id"], "filename": "screen shot.png",
                                             "content_type": "image/png", "size": len(PNG), "stored": True,
                                             "note": ""}]
    agent = client.get(f"/api/agent/attachments/{file['id']}", headers=agent_headers())
    assert agent.status_code == 200 and agent.content == PNG


def test_words_with_a_file_are_answered_by_the_bot_and_the_file_kept(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    file = upload(client, cid, headers, PNG, "error.png").json()
    sent = send_files(client, cid, headers, [file["id"]], "How do I reset my password?")
    assert sent.json()["decision"] == "answered"
    assert history(client, cid, headers)[0]["attachments"][0]["id"] == file["id"]


def test_a_png_holding_html_is_kept_as_opaque_bytes_and_only_ever_downloaded(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    file = upload(client, cid, headers, HTML, "invoice.png").json()
    assert file["content_type"] == "application/octet-stream"
    send_files(client, cid, headers, [file["id"]], "Here is my invoice")
    for response in (client.get(f"/api/conversations/{cid}/attachments/{file['id']}", headers=headers),
                     client.get(f"/api/agent/attachments/{file['id']}", headers=agent_headers())):
        assert response.status_code == 200 and response.content == HTML
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["content-disposition"].startswith("attachment;")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in response.headers["content-security-policy"]


def test_a_customer_cannot_fetch_or_send_another_conversations_file(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    other_cid, other_headers = start_conversation(client)
    theirs = upload(client, other_cid, other_headers, PNG, "private.png").json()
    send_files(client, other_cid, other_headers, [theirs["id"]], "my passport")
    assert client.get(f"/api/conversations/{cid}/attachments/{theirs['id']}", headers=headers).status_code == 404
    assert client.get(f"/api/conversations/{other_cid}/attachments/{theirs['id']}",
                      headers=headers).status_code == 403  # the other conversation with my token
    assert client.get(f"/api/conversations/{other_cid}/attachments/{theirs['id']}").status_code == 403
    refused = send_files(client, cid, headers, [theirs["id"]], "look")
    assert refused.status_code == 404 and "unknown attachment" in refused.text
    assert history(client, cid, headers) == []
    unsent = upload(client, cid, headers, PNG, "draft.png").json()  # uploaded, never sent: not listed yet
    assert client.get(f"/api/conversations/{cid}/attachments/{unsent['id']}", headers=headers).status_code == 404


def test_uploads_need_the_conversations_token(client: TestClient) -> None:
    cid, _ = start_conversation(client)
    assert upload(client, cid, {"X-Conversation-Token": "wrong"}, PNG, "a.png").status_code == 403
    assert upload(client, cid, {}, PNG, "a.png").status_code == 403


@pytest.fixture
def small(settings: Settings, container: Container) -> Iterator[TestClient]:
    settings.attachment_max_bytes = 1000
    settings.attachments_per_message = 2
    settings.rate_limits = {"uploads_per_conversation": "4/minute"}
    with TestClient(create_app(settings, container)) as test_client:
        yield test_client


def test_an_oversized_upload_is_refused_with_413_and_nothing_is_kept(small: TestClient, settings: Settings
                                                                      ) -> None:
    cid, headers = start_conversation(small)
    too_big = upload(small, cid, headers, b"x" * 1001, "big.log")
    assert too_big.status_code == 413 and "larger than" in too_big.json()["detail"]
    streamed = small.post(f"/api/conversations/{cid}/attachments", headers=headers,
                          content=iter([b"x" * 600, b"x" * 600]))  # chunked: no length announced
    assert streamed.status_code == 413
    assert stored_files(settings) == []
    assert upload(small, cid, headers, b"", "empty.txt").status_code == 400
    assert say(small, cid, headers, "How do I reset my password?")["decision"] == "answered"  # nothing else lost


def test_files_per_message_and_uploads_per_conversation_are_limited(small: TestClient) -> None:
    cid, headers = start_conversation(small)
    ids = [upload(small, cid, headers, PNG, f"{n}.png").json()["id"] for n in range(3)]
    too_many = send_files(small, cid, headers, ids)
    assert too_many.status_code == 400 and "more than 2 files" in too_many.text
    assert send_files(small, cid, headers, ids[:2]).status_code == 202
    assert upload(small, cid, headers, PNG, "3.png").status_code == 201
    limited = upload(small, cid, headers, PNG, "4.png")
    assert limited.status_code == 429 and "Retry-After" in limited.headers


def test_a_message_without_words_or_files_is_still_refused(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    response = send_files(client, cid, headers, [], "  ")
    assert response.status_code == 422 and "message text is empty" in response.text


# Each character that reorders or hides text where a name is shown: "invoice" + U+202E + "gpj.exe" reads as
# "invoiceexe.jpg".
HIDDEN = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e",
          "\u200f", "\u061c", "\u200b", "\ufeff", "\u2028", "\x85", "\x1b"]


@pytest.mark.parametrize("hidden", HIDDEN)
def test_a_file_name_keeps_no_character_that_reorders_or_hides_text(hidden: str) -> None:
    assert clean_filename(f"invoice{hidden}gpj.exe").replace(" ", "") == "invoicegpj.exe"
    assert clean_filename("Überweisung 2024 – März.pdf") == "Überweisung 2024 – März.pdf"


def test_a_right_to_left_override_is_stripped_at_upload_and_where_the_name_is_shown(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    file = upload(client, cid, headers, PNG, "invoice\u202egpj.exe").json()
    assert file["filename"] == "invoicegpj.exe"
    send_files(client, cid, headers, [file["id"]], "my invoice")
    assert history(client, cid, headers)[0]["attachments"][0]["filename"] == "invoicegpj.exe"
    transcript = client.get(f"/api/agent/conversations/{cid}", headers=agent_headers()).json()["transcript"]
    assert transcript[0]["attachments"][0]["filename"] == "invoicegpj.exe"
    download = client.get(f"/api/agent/attachments/{file['id']}", headers=agent_headers())
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''invoicegpj.exe"


def test_a_name_kept_before_it_was_cleaned_is_shown_clean(client: TestClient, container: Container) -> None:
    """Descriptions and messages stored by an earlier release (or another store) still hold the raw name."""
    cid, headers = start_conversation(client)
    raw = Attachment(id=new_id(), filename="report\u2067\u202egpj.exe\u2069", content_type="image/png",
                     size=len(PNG), conversation_id=cid)
    store = container.attachments
    assert isinstance(store, LocalAttachmentStore)
    store._write(raw, PNG)
    state = client.portal.call(container.store.load, cid)  # type: ignore[attr-defined]
    client.portal.call(container.dialogue.handle, Message(  # type: ignore[attr-defined]
        conversation_id=cid, channel="web", sender=state.customer, text="the report", attachments=(raw,)))
    assert history(client, cid, headers)[0]["attachments"][0]["filename"] == "reportgpj.exe"
    transcript = client.get(f"/api/agent/conversations/{cid}", headers=agent_headers()).json()["transcript"]
    assert transcript[0]["attachments"][0]["filename"] == "reportgpj.exe"
    for download in (client.get(f"/api/agent/attachments/{raw.id}", headers=agent_headers()),
                     client.get(f"/api/conversations/{cid}/attachments/{raw.id}", headers=headers)):
        assert download.status_code == 200
        assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''reportgpj.exe"
