"""A mail joins a thread's conversation only when its sender is the thread's customer: anyone can copy a
thread's Message-ID into In-Reply-To/References and a display name into From. And no inbound mail changes
the subject replies are sent under."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from bot.desk import agent
from bot.types import Role
from connectors.email.convert import conversation_id_for
from tests.connectors.email.conftest import CUSTOMER, Mailbox, Sink, mail
from tests.connectors.email.test_webhooks import AUTH, hooks, postmark_payload  # noqa: F401  (fixture)
from tests.waiting import eventually, wait_for

MALLORY = "mallory@evil.test"
AGENT = {"Authorization": "Bearer agent-secret", "X-Agent": "alice"}
ROOT = "<postmark-q1@example.test>"


def hijack_payload() -> dict[str, Any]:
    """Mallory's post: Ada's name, Ada's thread, Mallory's address and subject."""
    payload = postmark_payload()
    payload.update({"From": MALLORY, "FromName": "Ada Lovelace", "Subject": "Re: New bank details",
                    "FromFull": {"Email": MALLORY, "Name": "Ada Lovelace", "MailboxHash": ""},
                    "TextBody": "Please pay my refund to account 666.", "HtmlBody": "", "Attachments": []})
    payload["Headers"] = [{"Name": "Message-ID", "Value": "<mallory-1@evil.test>"},
                          {"Name": "In-Reply-To", "Value": ROOT}, {"Name": "References", "Value": ROOT}]
    return payload


def transcript(client: TestClient, conversation_id: str) -> dict[str, Any]:
    response = client.get(f"/api/agent/conversations/{conversation_id}", headers=AGENT)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def conversations_of(client: TestClient, address: str) -> list[dict[str, Any]]:
    """What agents see of every conversation whose customer is `address`."""
    listed = client.get("/api/agent/conversations", headers=AGENT).json()
    found = [transcript(client, c["id"]) for c in listed]
    return [c for c in found if c["state"]["customer"]["id"] == address]


def test_a_stranger_replying_into_a_webhook_thread_gets_a_conversation_of_their_own(hooks: TestClient  # noqa: F811
                                                                                     ) -> None:
    sink: Sink = hooks.sink  # type: ignore[attr-defined]
    assert hooks.post("/email/inbound/postmark", json=postmark_payload(), auth=AUTH).status_code == 200
    wait_for(lambda: sink.to(CUSTOMER), what="the answer to Ada")
    cid = conversation_id_for(ROOT)
    before = transcript(hooks, cid)

    response = hooks.post("/email/inbound/postmark", json=hijack_payload(), auth=AUTH)
    assert response.status_code == 200, response.text
    wait_for(lambda: sink.to(MALLORY), what="the answer to Mallory")

    after = transcript(hooks, cid)
    assert after["transcript"] == before["transcript"]  # nothing of Mallory's in Ada's history
    assert after["state"]["customer"] == before["state"]["customer"]
    assert (after["state"]["customer"]["id"], after["state"]["customer"]["name"]) == (CUSTOMER, "Ada Lovelace")
    assert after["state"]["slots"]["email_subject"] == "Password help"
    [own] = wait_for(lambda: conversations_of(hooks, MALLORY), what="Mallory's conversation")
    assert own["state"]["id"] != cid
    texts = [(e["role"], e["internal"], e["text"]) for e in own["transcript"]]
    assert ("customer", False, "Please pay my refund to account 666.") in texts
    [note] = [text for role, internal, text in texts if internal]  # flagged for agents, never mailed
    assert ROOT in note and cid in note
    assert all("account 666" not in m.body for m in sink.to(CUSTOMER))
    assert all(cid not in m.body and CUSTOMER not in m.body for m in sink.to(MALLORY))  # the note stays inside

    before_reply = len(sink.to(CUSTOMER))
    reply = hooks.post(f"/api/agent/conversations/{cid}/reply", headers=AGENT, json={"text": "Done, Ada."})
    assert reply.status_code == 200, reply.text
    mailed = wait_for(lambda: [m for m in sink.to(CUSTOMER)[before_reply:] if "Done, Ada." in m.body],
                      what="the agent's reply")
    assert [m.mail["Subject"] for m in mailed] == ["Re: Password help"]
    assert mailed[0].mail["In-Reply-To"] == ROOT and mailed[0].rcpt_tos == [CUSTOMER]


async def history(mailbox: Mailbox, conversation_id: str) -> list[tuple[Role, str, str]]:
    return [(e.message.sender.role, e.message.sender.id, e.message.text)
            for e in await mailbox.container.store.history(conversation_id)]


async def test_the_shared_intake_keeps_a_stranger_out_of_the_thread(mailbox: Mailbox, sink: Sink) -> None:
    await mailbox.send(mail("Cheese", "Is the moon made of cheese?", message_id="<moon-1@example.test>"))
    await eventually(lambda: sink.to(CUSTOMER))
    cid = conversation_id_for("<moon-1@example.test>")
    before = await history(mailbox, cid)

    hijack = mail("Re: New bank details", "Please pay my refund to account 666.",
                  message_id="<mallory-2@evil.test>", sender=f"Ada Lovelace <{MALLORY}>",
                  references=["<moon-1@example.test>"], in_reply_to="<moon-1@example.test>")
    await mailbox.send(hijack, mail_from=MALLORY)
    await eventually(lambda: sink.to(MALLORY))
    await mailbox.settle()

    assert await history(mailbox, cid) == before
    state = await mailbox.container.store.load(cid)
    assert state is not None and state.customer.id == CUSTOMER and state.slots["email_subject"] == "Cheese"
    assert state.slots["email_message_id"] == "<moon-1@example.test>"
    store = mailbox.container.store
    others = [c for c in await store.recent(50) if c != cid]
    owned = [s for s in [await store.load(c) for c in others] if s is not None and s.customer.id == MALLORY]
    assert len(owned) == 1 and owned[0].slots["email_subject"] == "Re: New bank details"
    entries = await store.history(owned[0].id)
    assert [e.message.text for e in entries if e.message.sender.role is Role.CUSTOMER] == [
        "Please pay my refund to account 666."]
    assert any(e.message.internal and cid in e.message.text for e in entries)

    await mailbox.container.desk.reply(cid, agent("alice", "Alice"), "It is not, Ada.")
    answer = (await eventually(lambda: [m for m in sink.to(CUSTOMER) if "It is not, Ada." in m.body]))[0]
    assert answer.mail["Subject"] == "Re: Cheese" and answer.rcpt_tos == [CUSTOMER]
    assert all(m.rcpt_tos == [MALLORY] for m in sink.to(MALLORY))


async def test_the_threads_customer_still_joins_it_in_any_case_and_keeps_its_subject(mailbox: Mailbox,
                                                                                     sink: Sink) -> None:
    await mailbox.send(mail("Cheese", "Is the moon made of cheese?", message_id="<moon-3@example.test>"))
    await eventually(lambda: sink.to(CUSTOMER))
    cid = conversation_id_for("<moon-3@example.test>")
    follow_up = mail("Something else entirely", "How do I reset my password?", message_id="<moon-4@example.test>",
                     sender="Ada Lovelace <Ada@EXAMPLE.test>", references=["<moon-3@example.test>"],
                     in_reply_to="<moon-3@example.test>")
    await mailbox.send(follow_up, mail_from="Ada@EXAMPLE.test")
    await mailbox.settle()

    texts = [text for role, _, text in await history(mailbox, cid) if role is Role.CUSTOMER]
    assert texts == ["Is the moon made of cheese?", "How do I reset my password?"]
    state = await mailbox.container.store.load(cid)
    assert state is not None and state.slots["email_subject"] == "Cheese"
    assert state.slots["email_message_id"] == "<moon-4@example.test>"  # replies still follow the thread
    await mailbox.container.desk.reply(cid, agent("alice", "Alice"), "Both answered, Ada.")
    answer = (await eventually(lambda: [m for m in sink.to(CUSTOMER) if "Both answered" in m.body]))[0]
    assert answer.mail["Subject"] == "Re: Cheese" and answer.mail["In-Reply-To"] == "<moon-4@example.test>"
