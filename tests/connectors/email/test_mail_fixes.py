"""Defects seen when the mailbox was driven as a mail client would: bounces, loops, size, 8-bit headers,
plain-text-only replies, silent skips and the agent's name."""

from __future__ import annotations

import logging

import pytest

from bot.desk import agent
from connectors.email.convert import conversation_id_for
from tests.connectors.email.conftest import CUSTOMER, SUPPORT, Mailbox, Sink, mail
from tests.waiting import eventually


def delivery_report(sender: str = "MAILER-DAEMON@mx.example.test") -> bytes:
    """A DSN (RFC 3464) as Postfix writes it: multipart/report with a message/delivery-status part, and no
    Auto-Submitted header."""
    return (f"From: Mail Delivery System <{sender}>\r\nTo: {CUSTOMER}\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.example.test>\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"\r\n\r\n'
            "--B1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            "Your message could not be delivered.\r\nHow do I reset my password?\r\n"
            "--B1\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.test\r\n\r\nFinal-Recipient: rfc822; bob@example.test\r\n"
            "Action: failed\r\nStatus: 5.1.1\r\n"
            "--B1--\r\n").encode()


async def test_a_delivery_report_is_not_answered_whoever_sent_it(mailbox: Mailbox, sink: Sink) -> None:
    await mailbox.send(delivery_report(), mail_from="bounces@mx.example.test")  # envelope sender not empty
    await mailbox.send(delivery_report(sender=CUSTOMER), mail_from=CUSTOMER)  # by content type alone
    await mailbox.settle()
    assert sink.to(CUSTOMER) == []
    assert await mailbox.container.store.load(conversation_id_for("<dsn-1@mx.example.test>")) is None


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example.test", "postmaster@example.test",
                                    "Mailer-Daemon@example.test"])
async def test_mail_from_a_mail_system_is_not_answered(mailbox: Mailbox, sink: Sink, sender: str) -> None:
    notice = mail("Delivery delayed", "How do I reset my password?", message_id="<delay@mx.example.test>",
                  sender=f"Mail System <{sender}>")
    await mailbox.send(notice, mail_from=sender)
    await mailbox.settle()
    assert sink.received == []


async def test_a_naive_autoresponder_gets_a_few_answers_then_none(mailbox: Mailbox, sink: Sink) -> None:
    limit = mailbox.container.settings.email_loop_limit
    for n in range(limit + 6):  # no RFC 3834 headers: it answers every answer with a new mail
        await mailbox.send(mail("Re: Password help", "How do I reset my password?",
                                message_id=f"<loop-{n}@example.test>"))
    await mailbox.settle()
    assert len(sink.to(CUSTOMER)) == limit
    await mailbox.send(mail("Password", "How do I reset my password?", message_id="<other@example.test>",
                            sender="Bob <bob@example.test>"), mail_from="bob@example.test")
    assert await eventually(lambda: sink.to("bob@example.test"))  # others are still answered


async def test_an_ordinary_mail_with_a_photo_of_a_few_megabytes_is_accepted(mailbox: Mailbox, sink: Sink) -> None:
    photo = mail("Screenshot", "How do I reset my password? The screen is attached.",
                 message_id="<photo@example.test>")
    photo.add_attachment(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8192, maintype="image", subtype="jpeg",
                         filename="screen.jpg")  # 2 MiB
    await mailbox.send(photo)
    assert await eventually(lambda: sink.to(CUSTOMER))


@pytest.mark.parametrize("encoding", ["latin-1", "utf-8"])
async def test_raw_eight_bit_names_and_subjects_are_read_as_written(mailbox: Mailbox, sink: Sink,
                                                                    encoding: str) -> None:
    message_id = f"<eight-bit-{encoding}@example.test>"
    raw = (f"From: Fritz Müller <{CUSTOMER}>\r\nTo: {SUPPORT}\r\nSubject: Passwort vergessen – Müller\r\n"
           f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset={encoding}\r\n"
           "\r\nHow do I reset my password?\r\n").encode(encoding, "replace")
    await mailbox.send(raw)
    [reply] = await eventually(lambda: sink.to(CUSTOMER))
    state = await mailbox.container.store.load(conversation_id_for(message_id))
    assert state is not None and state.customer.name == "Fritz Müller"
    assert reply.mail["To"].addresses[0].display_name == "Fritz Müller"
    assert reply.mail["Subject"].startswith("Re: Passwort vergessen") and "Müller" in reply.mail["Subject"]


async def test_a_bot_reply_has_an_html_part_that_names_its_sources(mailbox: Mailbox, sink: Sink) -> None:
    await mailbox.send(mail("Password help", "How do I reset my password?", message_id="<html@example.test>"))
    [reply] = await eventually(lambda: sink.to(CUSTOMER))
    assert reply.mail.get_content_type() == "multipart/alternative"
    html = reply.mail.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "open Settings, choose Security" in html
    assert "<li>Resetting your password</li>" in html and "reset.md" not in html  # web pages are linked


async def test_skipped_automatic_mail_is_logged_at_the_default_level(mailbox: Mailbox, sink: Sink,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    away = mail("Out of office", "I am away until Monday.", message_id="<ooo-log@example.test>")
    away["Auto-Submitted"] = "auto-replied"
    with caplog.at_level(logging.WARNING):
        await mailbox.send(away)
    assert any("<ooo-log@example.test>" in r.getMessage() and r.levelno >= logging.WARNING for r in caplog.records)


async def test_an_agents_reply_comes_from_the_agent_by_name(mailbox: Mailbox, sink: Sink) -> None:
    await mailbox.send(mail("Cheese", "Is the moon made of cheese?", message_id="<name@example.test>"))
    await eventually(lambda: sink.to(CUSTOMER))
    conversation_id = conversation_id_for("<name@example.test>")
    await mailbox.container.desk.reply(conversation_id, agent("alice", "Alice Smith"), "It is not.")
    answer = (await eventually(lambda: sink.to(CUSTOMER)[1:]))[0]
    sender = answer.mail["From"].addresses[0]
    assert sender.display_name == "Alice Smith" and sender.addr_spec == SUPPORT
