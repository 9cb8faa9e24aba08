"""Agents attach files to replies in the console; the customer gets them in their own channel (the widget
here, email in tests/connectors/email/test_attachments.py, Slack in tests/connectors/slack/test_files.py)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.connectors.test_webchat_api import agent_headers, client, history, say, start_conversation  # noqa: F401
from tests.connectors.test_widget_files import PNG, send_files, upload

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def agent_upload(client: TestClient, cid: str, data: bytes, filename: str, headers: dict[str, str] | None = None
                 ) -> Any:
    return client.post(f"/api/agent/conversations/{cid}/attachments", params={"filename": filename}, content=data,
                       headers={**(agent_headers() if headers is None else headers),
                                "Content-Type": "application/octet-stream"})


def test_an_agents_file_reaches_the_widget_and_only_that_customer_can_download_it(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    say(client, cid, headers, "I want to talk to a person")
    uploaded = agent_upload(client, cid, PDF, "refund-form.pdf")
    assert uploaded.status_code == 201, uploaded.text
    form = uploaded.json()
    assert form["content_type"] == "application/pdf"
    reply = client.post(f"/api/agent/conversations/{cid}/reply", headers=agent_headers(),
                        json={"text": "Please fill this in.", "attachments": [form["id"]]})
    assert reply.status_code == 200, reply.text
    alone = agent_upload(client, cid, PNG, "where-to-click.png").json()
    assert client.post(f"/api/agent/conversations/{cid}/reply", headers=agent_headers(),
                       json={"attachments": [alone["id"]]}).status_code == 200  # a file without words
    *_, with_words, only_file = history(client, cid, headers)
    assert with_words["role"] == "agent" and with_words["text"] == "Please fill this in."
    assert [(a["filename"], a["content_type"]) for a in with_words["attachments"]] == [
        ("refund-form.pdf", "application/pdf")]
    assert only_file["text"] == "" and only_file["attachments"][0]["id"] == alone["id"]
    download = client.get(f"/api/conversations/{cid}/attachments/{form['id']}", headers=headers)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")
    other_cid, other_headers = start_conversation(client)
    assert client.get(f"/api/conversations/{other_cid}/attachments/{form['id']}",
                      headers=other_headers).status_code == 404


def test_the_console_lists_a_customers_file_with_its_message(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    file = upload(client, cid, headers, PNG, "screen.png").json()
    send_files(client, cid, headers, [file["id"]], "It crashes here")
    transcript = client.get(f"/api/agent/conversations/{cid}", headers=agent_headers()).json()["transcript"]
    assert transcript[0]["text"] == "It crashes here"
    assert transcript[0]["attachments"][0] == {"id": file["id"], "filename": "screen.png",
                                               "content_type": "image/png", "size": len(PNG), "stored": True,
                                               "note": ""}


def test_agent_uploads_need_an_agent_and_stay_in_their_conversation(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    other_cid, _ = start_conversation(client)
    assert agent_upload(client, cid, PDF, "x.pdf", headers={}).status_code == 401
    assert agent_upload(client, cid, PDF, "x.pdf", headers=headers).status_code == 401  # a customer's token
    assert agent_upload(client, "no-such-conversation", PDF, "x.pdf").status_code == 404
    elsewhere = agent_upload(client, other_cid, PDF, "x.pdf").json()
    refused = client.post(f"/api/agent/conversations/{cid}/reply", headers=agent_headers(),
                          json={"text": "see attached", "attachments": [elsewhere["id"]]})
    assert refused.status_code == 404 and "unknown attachment" in refused.text
    customer_file = upload(client, cid, headers, PNG, "mine.png").json()  # the customer's own upload, unsent
    assert client.post(f"/api/agent/conversations/{cid}/reply", headers=agent_headers(),
                       json={"attachments": [customer_file["id"]]}).status_code == 200  # same conversation
    blank = client.post(f"/api/agent/conversations/{cid}/reply", headers=agent_headers(), json={"text": " "})
    assert blank.status_code == 422 and "text is empty" in blank.text
