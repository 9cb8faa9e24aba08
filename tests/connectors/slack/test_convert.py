"""Slack text and blocks ⇄ core messages."""

from __future__ import annotations

from bot.types import Citation, Message, Participant, Role
from connectors.slack.convert import SlackThread, escape, message_id, plain_text, render, to_message


def test_conversation_is_keyed_by_team_channel_and_thread() -> None:
    top = {
        "channel": "C1",
        "ts": "1.1",
        "user": "U1",
        "text": "<@UBOT> hi",
        "team": "T1",
        "client_msg_id": "m1",
    }
    reply = {**top, "ts": "1.2", "thread_ts": "1.1", "client_msg_id": "m2"}
    assert to_message(top, bot_user_id="UBOT").conversation_id == to_message(reply).conversation_id
    assert SlackThread.from_slots({"slack": SlackThread("T1", "C1", "1.1").as_slot()}) == SlackThread(
        "T1", "C1", "1.1"
    )
    assert to_message(top, bot_user_id="UBOT").text == "hi"


def test_message_id_survives_retries_and_the_mention_message_pair() -> None:
    assert message_id({"client_msg_id": "abc", "ts": "1.1"}, "Ev1") == message_id(
        {"client_msg_id": "abc"}, "Ev2"
    )
    assert message_id({"ts": "1.1"}, "Ev1") == message_id({"ts": "1.1"}, "Ev2")


def test_slack_markup_becomes_plain_text() -> None:
    text = "Hi <@U123>, see <https://x.test/a|the guide> or <#C1|it-help> &lt;b&gt; &amp; <!here>"
    assert plain_text(text) == "Hi @U123, see the guide (https://x.test/a) or #it-help <b> & @here"


def test_render_escapes_text_and_links_sources() -> None:
    message = Message(
        conversation_id="c",
        channel="slack",
        sender=Participant(role=Role.BOT),
        text="a < b & c > d",
        citations=(
            Citation(title="VPN | setup", source="https://kb.test/vpn"),
            Citation(title="Local", source="local.md"),
        ),
    )
    blocks = render(message)
    assert blocks[0] == {"type": "section", "text": {"type": "mrkdwn", "text": "a &lt; b &amp; c &gt; d"}}
    assert blocks[1]["elements"][0]["text"] == "Sources: <https://kb.test/vpn|VPN ¦ setup> · Local"
    assert escape("<@U1>") == "&lt;@U1&gt;"


def test_long_text_is_split_into_sections_slack_accepts() -> None:
    message = Message(
        conversation_id="c", channel="slack", sender=Participant(role=Role.BOT), text="x" * 7000
    )
    assert [len(b["text"]["text"]) for b in render(message)] == [3000, 3000, 1000]
