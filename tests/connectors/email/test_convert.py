"""Raw mail ⇄ core models, without a server: threading, quoting, charsets, damaged input, replies."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from bot.types import Citation, Message, Participant, Role
from connectors.email.convert import conversation_id_for, render, reply_subject, strip_quotes, to_message


def raw_mail(body: bytes | str = "How do I reset my password?", **headers: str) -> bytes:
    fields = {"From": "Ada Lovelace <Ada@Example.TEST>", "To": "support@acme.test",
              "Subject": "Password help", "Message-ID": "<q1@example.test>",
              "Date": "Mon, 06 Jan 2025 10:00:00 +0000"}
    fields.update({name.replace("_", "-"): value for name, value in headers.items()})
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items() if value is not None)
    data = body.encode() if isinstance(body, str) else body
    return head.encode() + b"\r\n" + data


def test_sender_is_the_lower_cased_address_with_its_display_name() -> None:
    inbound = to_message(raw_mail())
    ada = Participant(role=Role.CUSTOMER, id="ada@example.test", name="Ada Lovelace")
    assert inbound.message.sender == ada
    assert inbound.message.channel == "email" and inbound.subject == "Password help"
    assert inbound.message_id == "<q1@example.test>" and inbound.references == []


def test_every_mail_of_a_thread_maps_to_the_first_mails_conversation() -> None:
    first = to_message(raw_mail())
    full_chain = to_message(raw_mail("More", Message_ID="<q2@example.test>", In_Reply_To="<r1@acme.test>",
                                     References="<q1@example.test> <r1@acme.test>"))
    parent_only = to_message(raw_mail("More", Message_ID="<q3@example.test>",
                                      In_Reply_To="<q1@example.test>"))
    assert first.conversation_id == full_chain.conversation_id == parent_only.conversation_id
    assert first.conversation_id == conversation_id_for("<q1@example.test>")
    assert len(first.conversation_id) == 32 and int(first.conversation_id, 16) >= 0
    assert len({first.message.id, full_chain.message.id, parent_only.message.id}) == 3
    assert full_chain.references == ["<q1@example.test>", "<r1@acme.test>"]
    assert to_message(raw_mail()).message.id == first.message.id  # a re-delivery has the same id
    other = to_message(raw_mail(Message_ID="<x9@example.test>"))
    assert other.conversation_id != first.conversation_id


def test_mail_without_message_id_still_gets_stable_ids() -> None:
    one = to_message(raw_mail(Message_ID=None))  # type: ignore[arg-type]
    again = to_message(raw_mail(Message_ID=None))  # type: ignore[arg-type]
    assert one.message.id == again.message.id and one.conversation_id == again.conversation_id
    later = to_message(raw_mail(Message_ID=None,  # type: ignore[arg-type]
                                Date="Tue, 07 Jan 2025 10:00:00 +0000"))
    assert later.conversation_id != one.conversation_id


def test_quoted_history_attribution_and_signature_are_stripped() -> None:
    body = ("Thanks, that worked.\r\nOne more thing: can I change my email?\r\n\r\n"
            "On Mon, Jan 6, 2025 at 10:01 AM Acme Support <support@acme.test>\r\nwrote:\r\n"
            "> To reset your password open Settings.\r\n>\r\n> Sources:\r\n\r\n"
            "-- \r\nAda Lovelace\r\nAnalyst\r\n")
    expected = "Thanks, that worked.\nOne more thing: can I change my email?"
    assert to_message(raw_mail(body)).message.text == expected
    assert strip_quotes("Hi\n\nOn Mon, Ada wrote:\n> old\n> older") == "Hi"
    assert strip_quotes("> question?\nMy answer inline.") == "My answer inline."
    assert strip_quotes("New question\n\n-----Original Message-----\nFrom: x\nold") == "New question\n"


def test_nothing_left_after_stripping_falls_back_to_the_subject() -> None:
    inbound = to_message(raw_mail("> quoted only\r\n-- \r\nAda\r\n",
                                  Subject="Re: How do I reset my password?"))
    assert inbound.message.text == "How do I reset my password?"


def test_plain_text_is_preferred_and_html_only_mail_is_reduced_to_visible_text() -> None:
    alternative = EmailMessage()
    alternative["From"] = "ada@example.test"
    alternative["Subject"] = "Help"
    alternative.set_content("plain version")
    alternative.add_alternative("<p>html version</p>", subtype="html")
    assert to_message(alternative.as_bytes(policy=policy.SMTP)).message.text == "plain version"

    html = ("<html><head><style>p {color: red}</style><script>alert(1)</script></head><body>"
            "<p>How do I <b>reset</b> my password?</p><script>steal()</script>"
            "<blockquote>earlier mail</blockquote></body></html>")
    inbound = to_message(raw_mail(html, Content_Type="text/html; charset=utf-8"))
    assert inbound.message.text == "How do I reset my password?"


@pytest.mark.parametrize("headers, body, expected", [
    ({"Content_Type": "text/plain; charset=utf-8"}, b"caf\xe9 \xff ok", "caf\ufffd \ufffd ok"),
    ({"Content_Type": "text/plain; charset=x-unknown-9"}, b"caf\xc3\xa9", "caf\u00e9"),
    ({"Content_Type": "text/plain; charset=iso-8859-1"}, b"caf\xe9", "caf\u00e9"),
    ({"Content_Type": "text/plain; charset=utf-8", "Content_Transfer_Encoding": "base64"},
     b"SGVsbG8gd29ybGQ=!!*\r\n=x", "Hello world"),
    ({"Content_Type": "text/plain; charset=utf-8", "Content_Transfer_Encoding": "quoted-printable"},
     b"caf=C3=A9 =ZZ broken=\r\n", "caf\u00e9 =ZZ broken"),
])
def test_damaged_bodies_decode_to_text(headers: dict[str, str], body: bytes, expected: str) -> None:
    assert to_message(raw_mail(body, MIME_Version="1.0", **headers)).message.text == expected


def test_long_mail_is_capped() -> None:
    assert 19_990 <= len(to_message(raw_mail("word " * 10_000)).message.text) <= 20_000
    assert len(to_message(raw_mail("word " * 100), max_chars=50).message.text) <= 50


@pytest.mark.parametrize("sender, reason", [
    (None, "missing From"), ("", "no valid address"), ("not an address", "no valid address"),
    ("a@", "no valid address"), ("<>", "no valid address"), ("undisclosed-recipients:;", "no valid address"),
])
def test_mail_without_a_usable_sender_is_refused(sender: str | None, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        to_message(raw_mail(From=sender))  # type: ignore[arg-type]


def test_header_injection_in_subject_and_sender_is_neutralised() -> None:
    inbound = to_message(raw_mail(Subject="=?utf-8?q?Help=0D=0ABcc:_victim@example.test?=",
                                  From="=?utf-8?q?Ada=0D=0ABcc:_x?= <ada@example.test>"))
    assert "\r" not in inbound.subject and "\n" not in inbound.subject
    assert inbound.message.sender.id == "ada@example.test" and "\n" not in inbound.message.sender.name
    reply = render(_bot("ok"), inbound.subject, inbound.message_id, inbound.references)
    assert "Bcc" not in reply.keys() and reply["Subject"] == "Re: Help Bcc: victim@example.test"


def test_automatic_mail_is_recognised() -> None:
    assert to_message(raw_mail(Auto_Submitted="auto-replied")).automatic
    assert to_message(raw_mail(Precedence="bulk")).automatic
    assert not to_message(raw_mail(Auto_Submitted="no")).automatic
    assert not to_message(raw_mail(List_Id="<support.acme.test>")).automatic  # a group in front of us is fine


@pytest.mark.parametrize("subject, expected", [
    ("Password help", "Re: Password help"), ("Re: Password help", "Re: Password help"),
    ("RE: re:Aw: Password help", "Re: Password help"), ("Re[2]: Password help", "Re: Password help"),
    ("", "Re: Your support request"), ("Regarding my invoice", "Re: Regarding my invoice"),
])
def test_reply_subject_has_one_re(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected


def _bot(text: str, citations: tuple[Citation, ...] = ()) -> Message:
    return Message(conversation_id="c1", channel="email", sender=Participant(role=Role.BOT, id="bot"),
                   text=text, citations=citations)


def test_render_threads_the_reply_and_lists_its_sources() -> None:
    message = _bot("Open Settings.", (Citation(title="Resetting your password", source="reset.md"),))
    reply = render(message, "Re: Password help", "<q2@example.test>", ["<q1@example.test>", "<r1@acme.test>"])
    parsed = BytesParser(policy=policy.default).parsebytes(reply.as_bytes())
    assert parsed["Subject"] == "Re: Password help"
    assert parsed["In-Reply-To"] == "<q2@example.test>"
    assert parsed["References"] == "<q1@example.test> <r1@acme.test> <q2@example.test>"
    assert parsed["Auto-Submitted"] == "auto-replied"
    plain = parsed.get_body(preferencelist=("plain",))
    assert plain is not None
    body = plain.get_content().replace("\r\n", "\n")
    assert body == "Open Settings.\n\nSources:\n- Resetting your password\n"  # a file name is no link


def test_the_html_alternative_links_web_sources_by_title_and_escapes_everything() -> None:
    pages = (Citation(title="Refunds <b>& credits</b>", source='https://help.acme.test/refunds?a=1&b="2"',
                      section="Annual plans"),
             Citation(title="Resetting your password", source="reset.md"))
    message = _bot("Annual plans <script>alert(1)</script> are refunded.\n\nAsk us & we help.", pages)
    reply = BytesParser(policy=policy.default).parsebytes(render(message, "Help", "<q@x.test>", []).as_bytes())
    assert reply.get_content_type() == "multipart/alternative"
    html = reply.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "<b>" not in html
    assert "Annual plans &lt;script&gt;alert(1)&lt;/script&gt; are refunded.</p>" in html
    assert "<p>Ask us &amp; we help.</p>" in html
    assert ('<a href="https://help.acme.test/refunds?a=1&amp;b=&quot;2&quot;#annual-plans">'
            "Refunds &lt;b&gt;&amp; credits&lt;/b&gt;</a>") in html
    assert "<li>Resetting your password</li>" in html
    plain = reply.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert '- Refunds <b>& credits</b> <https://help.acme.test/refunds?a=1&b="2"#annual-plans>' in plain


def test_render_of_a_persons_reply_is_not_marked_automatic() -> None:
    alice = Message(conversation_id="c1", channel="email", sender=Participant(role=Role.AGENT, id="alice"),
                    text="Hi Ada")
    reply = render(alice, "Help", "<q1@example.test>", [])
    assert reply["Auto-Submitted"] is None and reply["References"] == "<q1@example.test>"


def test_render_keeps_the_root_when_the_chain_is_long() -> None:
    chain = [f"<m{i}@example.test>" for i in range(40)]
    references = render(_bot("ok"), "Help", "<last@example.test>", chain)["References"].split()
    assert references[0] == "<m0@example.test>" and references[-1] == "<last@example.test>"
    assert len(references) == 20
