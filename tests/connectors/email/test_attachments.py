"""Files sent with mail are kept, listed to agents and downloadable by agents only, never silently dropped."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from bot.types import Owner
from connectors.email.convert import conversation_id_for
from tests.connectors.email.conftest import CUSTOMER, Mailbox, Sink, mail
from tests.connectors.email.test_webhooks import AUTH, hooks, postmark_payload  # noqa: F401  (fixture)
from tests.waiting import eventually, wait_for

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
                       "awAAAABJRU5ErkJggg==")
AGENT = {"Authorization": "Bearer agent-secret", "X-Agent": "alice"}


async def test_attachments_of_a_mail_are_kept_and_listed_with_its_message(mailbox: Mailbox, sink: Sink) -> None:
    question = mail("Screenshot", "How do I reset my password? Screenshot attached.", message_id="<att@example.test>")
    question.add_attachment(PNG, maintype="image", subtype="png", filename="screen.png")
    question.add_attachment(b"<html><script>alert(1)</script></html>", maintype="image", subtype="png",
                            filename="fake.png")  # the name and declared type lie
    await mailbox.send(question)
    assert await eventually(lambda: sink.to(CUSTOMER))  # a question with text is still answered
    [entry, *_] = await mailbox.container.store.history(conversation_id_for("<att@example.test>"))
    screen, fake = entry.message.attachments
    assert (screen.filename, screen.content_type, screen.size, screen.stored) == ("screen.png", "image/png",
                                                                                  len(PNG), True)
    assert fake.content_type == "application/octet-stream"  # sniffed from the bytes: markup, never shown
    stored = await mailbox.container.attachments.get(screen.id)
    assert stored is not None and stored[1] == PNG


async def test_a_file_over_the_limit_is_listed_as_not_kept(mailbox: Mailbox, sink: Sink) -> None:
    limit = mailbox.container.settings.attachment_max_bytes
    question = mail("Logs", "How do I reset my password?", message_id="<big-att@example.test>")
    question.add_attachment(b"x" * (limit + 1), maintype="application", subtype="octet-stream", filename="big.log")
    await mailbox.send(question)
    await eventually(lambda: sink.to(CUSTOMER))
    [entry, *_] = await mailbox.container.store.history(conversation_id_for("<big-att@example.test>"))
    [big] = entry.message.attachments
    assert big.filename == "big.log" and not big.stored and "larger than" in big.note
    assert await mailbox.container.attachments.get(big.id) is None


async def test_a_mail_that_is_only_an_attachment_goes_to_a_person(mailbox: Mailbox, sink: Sink) -> None:
    question = mail("", "", message_id="<only-att@example.test>")
    question.add_attachment(PNG, maintype="image", subtype="png", filename="screen.png")
    await mailbox.send(question)
    [ack] = await eventually(lambda: sink.to(CUSTOMER))
    assert "support team" in ack.body
    state = await mailbox.container.store.load(conversation_id_for("<only-att@example.test>"))
    assert state is not None and state.owner is Owner.PENDING_HUMAN


def test_agents_see_and_download_a_webhook_mails_screenshot_and_nobody_else_can(hooks: TestClient  # noqa: F811
                                                                                 ) -> None:
    posted = hooks.post("/email/inbound/postmark", json=postmark_payload(), auth=AUTH)
    assert posted.status_code == 200, posted.text
    cid = conversation_id_for("<postmark-q1@example.test>")
    transcript = wait_for(lambda: hooks.get(f"/api/agent/conversations/{cid}", headers=AGENT).json()["transcript"])
    [listed] = transcript[0]["attachments"]
    assert listed["filename"] == "screenshot.png" and listed["content_type"] == "image/png" and listed["stored"]
    download = hooks.get(f"/api/agent/attachments/{listed['id']}", headers=AGENT)
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in download.headers["content-security-policy"]
    assert hooks.get(f"/api/agent/attachments/{listed['id']}").status_code == 401
    assert hooks.get("/api/agent/attachments/..%2F..%2Fetc%2Fpasswd", headers=AGENT).status_code == 404


def test_a_webhook_mail_with_a_photo_larger_than_an_ordinary_request_is_accepted(hooks: TestClient  # noqa: F811
                                                                                  ) -> None:
    photo = PNG + bytes(300 * 1024)  # 300 KB: past the 64 KB every other request is held to
    payload = postmark_payload()
    payload["Attachments"] = [{"Name": "photo.png", "Content": base64.b64encode(photo).decode(),
                               "ContentType": "image/png", "ContentLength": len(photo), "ContentID": ""}]
    posted = hooks.post("/email/inbound/postmark", json=payload, auth=AUTH)
    assert posted.status_code == 200, posted.text
    cid = conversation_id_for("<postmark-q1@example.test>")
    transcript = wait_for(lambda: hooks.get(f"/api/agent/conversations/{cid}", headers=AGENT).json()["transcript"])
    [listed] = transcript[0]["attachments"]
    assert listed["size"] == len(photo) and listed["stored"]


def test_an_agents_reply_with_a_file_is_mailed_with_it_attached(hooks: TestClient) -> None:  # noqa: F811
    posted = hooks.post("/email/inbound/postmark", json=postmark_payload(), auth=AUTH)
    assert posted.status_code == 200, posted.text
    cid = conversation_id_for("<postmark-q1@example.test>")
    wait_for(lambda: hooks.get(f"/api/agent/conversations/{cid}", headers=AGENT).json()["transcript"])
    sink: Sink = hooks.sink  # type: ignore[attr-defined]
    before = len(sink.to(CUSTOMER))
    form = hooks.post(f"/api/agent/conversations/{cid}/attachments", params={"filename": "refund form.pdf"},
                      content=b"%PDF-1.4 form", headers={**AGENT, "Content-Type": "application/octet-stream"}).json()
    reply = hooks.post(f"/api/agent/conversations/{cid}/reply", headers=AGENT,
                       json={"text": "The form is attached.", "attachments": [form["id"]]})
    assert reply.status_code == 200, reply.text
    # the bot's own answer to the mail may reach the sink after `before` was taken: wait for the agent's
    mailed = wait_for(lambda: [m for m in sink.to(CUSTOMER)[before:] if "The form is attached." in m.body])[-1]
    assert "The form is attached." in mailed.body
    [part] = list(mailed.mail.iter_attachments())
    assert (part.get_filename(), part.get_content_type()) == ("refund form.pdf", "application/pdf")
    assert part.get_content() == b"%PDF-1.4 form"
