"""Files both ways in Slack, against the local Slack Web API stand-in: an employee's file share is downloaded
with the bot token and kept; a file an agent attaches to a reply is uploaded into the employee's thread."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

from bot.desk import agent
from connectors.slack.convert import SlackThread
from tests.connectors.slack.conftest import AGENTS, Slack, settle
from tests.fakes.slack_api import TEAM_ID
from tests.waiting import eventually

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
                       "awAAAABJRU5ErkJggg==")


def file_share(slack: Slack, files: list[dict[str, Any]], text: str = "") -> dict[str, Any]:
    return {**slack.dm(text), "subtype": "file_share", "files": files, "upload": False}


def downloads(slack: Slack) -> list[Any]:
    return [c for c in slack.api.calls if c.method.startswith("GET /files-pri/")]


async def conversation_of(slack: Slack, event: dict[str, Any]) -> list[Any]:
    cid = SlackThread(TEAM_ID, event["channel"], event["ts"]).conversation_id
    return await slack.container.store.history(cid)


async def test_a_shared_screenshot_is_downloaded_with_the_bot_token_kept_and_goes_to_a_person(slack: Slack) -> None:
    event = file_share(slack, [slack.api.share("screenshot.png", PNG, "image/png")])
    assert (await slack.event(event)).status_code == 200
    [ack] = await eventually(lambda: slack.thread_posts(event["channel"], event["ts"]))
    assert "can't read attachments" in ack["text"]
    [download] = downloads(slack)
    assert download.token == "xoxb-test"
    question, _ = await conversation_of(slack, event)
    [kept] = question.message.attachments
    assert (kept.filename, kept.content_type, kept.size, kept.stored) == ("screenshot.png", "image/png", len(PNG),
                                                                          True)
    stored = await slack.container.attachments.get(kept.id)
    assert stored is not None and stored[1] == PNG
    assert await eventually(lambda: slack.agents_posts())  # the handoff reached the agents channel


async def test_words_with_a_file_are_answered_and_the_file_kept(slack: Slack) -> None:
    event = file_share(slack, [slack.api.share("error.png", PNG, "image/png")], "How do I reset my password?")
    await slack.event(event)
    [answer] = await eventually(lambda: slack.thread_posts(event["channel"], event["ts"]))
    assert "Settings" in answer["text"]
    question, _ = await conversation_of(slack, event)
    assert [a.filename for a in question.message.attachments] == ["error.png"]


async def test_files_over_the_limit_or_off_slack_are_listed_as_not_kept(slack: Slack) -> None:
    limit = slack.container.settings.attachment_max_bytes
    said_big = slack.api.share("huge.mov", b"x", size=limit + 1)
    lying = slack.api.share("small.log", b"y" * (limit + 1), size=10)  # larger than its event said
    elsewhere = {**slack.api.share("leak.png", PNG), "url_private_download": "http://attacker.test/f.png"}
    event = file_share(slack, [said_big, lying, elsewhere], "How do I reset my password?")
    await slack.event(event)
    await eventually(lambda: slack.thread_posts(event["channel"], event["ts"]))
    question, _ = await conversation_of(slack, event)
    big, lied, leaked = question.message.attachments
    assert not big.stored and "larger than" in big.note
    assert not lied.stored and "larger than" in lied.note
    assert not leaked.stored and "could not be downloaded" in leaked.note
    # only the one Slack said was small was fetched; the token never went to another host
    assert [c.method for c in downloads(slack)] == ["GET " + urlsplit(lying["url_private_download"]).path]


async def test_sign_in_page_instead_of_the_file_is_not_kept(slack: Slack) -> None:
    slack.api.file_token = "xoxb-another-workspace"  # Slack answers a token it does not accept with HTML
    event = file_share(slack, [slack.api.share("screen.png", PNG, "image/png")], "How do I reset my password?")
    await slack.event(event)
    await eventually(lambda: slack.thread_posts(event["channel"], event["ts"]))
    question, _ = await conversation_of(slack, event)
    [refused] = question.message.attachments
    assert not refused.stored and "could not be downloaded" in refused.note


async def test_an_agents_file_reaches_the_employees_thread_as_an_upload(slack: Slack) -> None:
    event = slack.dm("I want to talk to a person")
    await slack.event(event)
    await eventually(lambda: slack.thread_posts(event["channel"], event["ts"]))
    cid = SlackThread(TEAM_ID, event["channel"], event["ts"]).conversation_id
    guide = await slack.container.attachments.put(b"%PDF-1.4 guide", "vpn-guide.pdf", conversation_id=cid)
    await slack.container.desk.reply(cid, agent("alice", "Alice"), "Here is the guide.", attachments=(guide,))
    await settle()
    posts = slack.thread_posts(event["channel"], event["ts"])
    assert posts[-1]["text"] == "Here is the guide."
    assert slack.api.completed_uploads(channel_id=event["channel"], thread_ts=event["ts"]) == [
        ("vpn-guide.pdf", b"%PDF-1.4 guide")]
    assert AGENTS not in {c.params.get("channel_id") for c in slack.api.of("files.completeUploadExternal")}
