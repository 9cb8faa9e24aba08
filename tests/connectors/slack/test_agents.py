"""IT agents in the agents channel: the handoff post, its buttons, the edit modal and thread replies."""

from __future__ import annotations

from typing import Any

from bot.types import Owner, Role
from connectors.slack.convert import SlackThread
from connectors.slack.desk import ActionRef
from tests.connectors.slack.conftest import (
    AGENT,
    AGENTS,
    OTHER_AGENT,
    STRANGER,
    Slack,
    settle,
    texts,
)
from tests.fakes.slack_api import TEAM_ID
from tests.waiting import eventually

DRAFTED = "How do I reset my security password?"  # category security: phase draft on slack


def buttons(post: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def escalate(slack: Slack, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ask by DM; return the employee's event and the agents-channel post it produced."""
    event = slack.dm(text)
    await slack.event(event)
    [post] = await eventually(slack.agents_posts)
    await settle()
    return event, post


def employee_thread(slack: Slack, event: dict[str, Any]) -> list[dict[str, Any]]:
    return slack.thread_posts(event["channel"], event["ts"])


async def last_update(slack: Slack, post: dict[str, Any]) -> dict[str, Any]:
    """The post as last redrawn (waiting for the first redraw if none happened yet)."""
    updates = await eventually(lambda: slack.api.of("chat.update", channel=AGENTS, ts=post["ts"]))
    return updates[-1].params


async def test_low_confidence_question_is_posted_to_agents_with_buttons(slack: Slack) -> None:
    event, post = await escalate(slack, "Is the moon made of cheese?")
    assert buttons(post) == ["claim", "hand_back"]  # no draft: nothing to approve
    shown = texts(post["blocks"])
    assert "Is the moon made of cheese?" in shown and "<@UEMMA>" in shown
    assert "*Category*\noos" in shown and "*Confidence*\nn/a" in shown
    [ack] = employee_thread(slack, event)  # the employee is told a person will pick it up
    assert "support team" in ack["text"]
    ref = ActionRef.loads(post["blocks"][-1]["elements"][0]["value"])
    assert ref.conversation_id == SlackThread(TEAM_ID, event["channel"], event["ts"]).conversation_id


async def test_draft_category_is_posted_with_the_draft_and_review_buttons(slack: Slack) -> None:
    event, post = await escalate(slack, DRAFTED)
    assert buttons(post) == ["claim", "approve", "edit", "reject", "hand_back"]
    shown = texts(post["blocks"])
    assert "*Category*\nsecurity" in shown and "*Confidence*\n0.90" in shown
    assert "Bot's draft (awaiting review)" in shown and "open Settings, choose Security" in shown
    assert employee_thread(slack, event) == []  # nothing reaches the employee before review


async def test_approve_sends_the_draft_to_the_employee_thread(slack: Slack) -> None:
    event, post = await escalate(slack, DRAFTED)
    assert (await slack.click("approve", post)).status_code == 200
    [sent] = await eventually(lambda: employee_thread(slack, event))
    assert sent["text"].startswith("To reset your password open Settings")
    assert "Sources: Resetting your password" in texts(sent["blocks"])
    await settle()
    update = await last_update(slack, post)
    assert f"Approved by <@{AGENT}>" in texts(update["blocks"]) and buttons(update) == []
    [review] = await slack.container.journal.entries("review")
    assert review["verdict"] == "approved" and review["agent"] == AGENT


async def test_edit_opens_a_modal_with_the_draft_and_sends_the_edited_text(slack: Slack) -> None:
    event, post = await escalate(slack, DRAFTED)
    await slack.click("edit", post)
    [opened] = await eventually(lambda: slack.api.of("views.open"))
    view = opened.params["view"]
    element = view["blocks"][0]["element"]
    assert element["initial_value"].startswith("To reset your password open Settings")
    response = await slack.submit(view, "Open Settings > Security > Reset password. Ping us if stuck.")
    assert response.status_code == 200 and response.content in (b"", b"null")  # modal closes
    [sent] = await eventually(lambda: employee_thread(slack, event))
    assert sent["text"] == "Open Settings > Security > Reset password. Ping us if stuck."
    assert "Open Settings &gt; Security" in texts(sent["blocks"])  # escaped for mrkdwn
    await settle()
    assert f"Edited and sent by <@{AGENT}>" in texts((await last_update(slack, post))["blocks"])


async def test_empty_edit_keeps_the_modal_open_with_an_error(slack: Slack) -> None:
    _, post = await escalate(slack, DRAFTED)
    await slack.click("edit", post)
    [opened] = await eventually(lambda: slack.api.of("views.open"))
    response = await slack.submit(opened.params["view"], "   ")
    assert response.json() == {"response_action": "errors", "errors": {"draft": "The reply is empty."}}


async def test_reject_sends_nothing_to_the_employee(slack: Slack) -> None:
    event, post = await escalate(slack, DRAFTED)
    await slack.click("reject", post)
    await eventually(lambda: slack.api.of("chat.update", ts=post["ts"]))
    await settle()
    assert employee_thread(slack, event) == []
    update = await last_update(slack, post)
    assert "Draft rejected by <@UALICE>" in texts(update["blocks"]) and buttons(update) == ["hand_back"]
    state = await slack.container.store.load(
        SlackThread(TEAM_ID, event["channel"], event["ts"]).conversation_id
    )
    assert state is not None and state.owner is Owner.HUMAN and state.agent == AGENT


async def test_claiming_agent_reply_in_the_agents_thread_reaches_the_employee(slack: Slack) -> None:
    event, post = await escalate(slack, "Is the moon made of cheese?")
    await slack.click("claim", post)
    [joined] = await eventually(lambda: employee_thread(slack, event)[1:])
    assert "Agent UALICE from our support team has joined" in joined["text"]
    update = await last_update(slack, post)
    assert "Claimed by <@UALICE>" in texts(update["blocks"]) and buttons(update) == ["hand_back"]

    await slack.event(slack.in_thread("Someone else's aside", AGENTS, post["ts"], OTHER_AGENT))
    reply = slack.in_thread(
        "Hi Emma, it is not. Anything else? <https://nasa.gov|NASA> agrees &amp; so do I",
        AGENTS,
        post["ts"],
        AGENT,
    )
    await slack.event(reply)
    [_, _, relayed] = await eventually(
        lambda: employee_thread(slack, event)[2:] and employee_thread(slack, event)
    )
    assert relayed["text"] == "Hi Emma, it is not. Anything else? NASA (https://nasa.gov) agrees & so do I"
    assert "Agent UALICE, IT support" in texts(relayed["blocks"])
    await settle()
    assert len(employee_thread(slack, event)) == 3  # the other agent's aside stayed in the agents channel

    follow = slack.dm("Thanks! One more thing", thread_ts=event["ts"])  # employee answers in their thread
    await slack.event(follow)
    [forwarded] = await eventually(lambda: [p for p in slack.thread_posts(AGENTS, post["ts"])])
    assert forwarded["text"] == "<@UEMMA> wrote: Thanks! One more thing"


async def test_hand_back_returns_the_conversation_to_the_bot(slack: Slack) -> None:
    event, post = await escalate(slack, "Is the moon made of cheese?")
    await slack.click("claim", post)
    await eventually(lambda: slack.api.of("chat.update", ts=post["ts"]))
    await slack.click("hand_back", post)
    await eventually(lambda: len(employee_thread(slack, event)) == 3)
    assert "Ask me anything" in employee_thread(slack, event)[-1]["text"]
    await settle()
    assert "Handed back to the bot by <@UALICE>" in texts((await last_update(slack, post))["blocks"])
    await slack.event(slack.dm("How do I reset my password?", thread_ts=event["ts"]))
    await eventually(lambda: "Settings" in employee_thread(slack, event)[-1]["text"])


async def test_non_agent_clicking_approve_is_refused(slack: Slack) -> None:
    event, post = await escalate(slack, DRAFTED)
    await slack.click("approve", post, user=STRANGER)
    [refusal] = await eventually(lambda: slack.api.of("chat.postEphemeral", user=STRANGER))
    assert "Only members of the IT agents channel" in refusal.params["text"]
    await settle()
    assert employee_thread(slack, event) == [] and slack.api.of("chat.update") == []
    state = await slack.container.store.load(
        SlackThread(TEAM_ID, event["channel"], event["ts"]).conversation_id
    )
    assert state is not None and state.pending_draft is not None  # still waiting for a real agent


async def test_second_claim_is_told_who_has_it(slack: Slack) -> None:
    _, post = await escalate(slack, "Is the moon made of cheese?")
    await slack.click("claim", post)
    await eventually(lambda: slack.api.of("chat.update", ts=post["ts"]))
    await slack.click("claim", post, user=OTHER_AGENT)
    [notice] = await eventually(lambda: slack.api.of("chat.postEphemeral", user=OTHER_AGENT))
    assert "<@UALICE> already claimed" in notice.params["text"]


async def test_membership_is_cached_between_clicks(slack: Slack) -> None:
    _, post = await escalate(slack, "Is the moon made of cheese?")
    await slack.click("claim", post)
    await eventually(lambda: slack.api.of("chat.update", ts=post["ts"]))
    await slack.click("hand_back", post)
    await eventually(lambda: len(slack.api.of("chat.update", ts=post["ts"])) == 2)
    assert len(slack.api.of("conversations.members", channel=AGENTS)) == 1


async def test_reply_before_claiming_is_not_relayed(slack: Slack) -> None:
    event, post = await escalate(slack, "Is the moon made of cheese?")
    await slack.event(slack.in_thread("I think it is cheese", AGENTS, post["ts"], AGENT))
    [hint] = await eventually(lambda: slack.api.of("chat.postEphemeral", user=AGENT))
    assert "click Claim first" in hint.params["text"]
    await settle()
    assert len(employee_thread(slack, event)) == 1  # only the acknowledgement


async def test_unclaimed_reminder_goes_to_the_handoff_thread(slack: Slack) -> None:
    _, post = await escalate(slack, "Is the moon made of cheese?")
    [handoff] = await slack.container.queue.open_handoffs()
    handoff.reminders = 1
    [desk] = slack.container.escalation.notifiers
    await desk.handoff_unclaimed(handoff)
    await desk.handoff_opened(handoff)  # a retried job: still one post
    [reminder] = slack.thread_posts(AGENTS, post["ts"])
    assert reminder["text"].startswith("Still unclaimed (reminder 1)")
    assert len(slack.agents_posts()) == 1


async def test_agent_history_shows_the_agent(slack: Slack) -> None:
    event, post = await escalate(slack, "Is the moon made of cheese?")
    await slack.click("claim", post)
    await eventually(lambda: slack.api.of("chat.update", ts=post["ts"]))
    await slack.event(slack.in_thread("Not cheese.", AGENTS, post["ts"], AGENT))
    await eventually(lambda: len(employee_thread(slack, event)) == 3)
    conversation_id = SlackThread(TEAM_ID, event["channel"], event["ts"]).conversation_id
    roles = [
        (e.message.sender.role, e.message.sender.id)
        for e in await slack.container.store.history(conversation_id)
    ]
    assert (Role.AGENT, AGENT) in roles


async def test_gated_category_offers_what_the_bot_would_say_and_approve_sends_it_as_the_agent(
    slack: Slack,
) -> None:
    event, post = await escalate(slack, "How do I reset my account password?")  # account: phase categorize
    assert buttons(post) == ["claim", "approve", "edit", "hand_back"]
    assert "What the bot would say" in texts(post["blocks"])
    await slack.click("approve", post)
    await eventually(lambda: len(employee_thread(slack, event)) == 2)
    sent = employee_thread(slack, event)[-1]
    assert sent["text"].startswith("To reset your password open Settings")
    assert "Agent UALICE, IT support" in texts(sent["blocks"])
    await settle()
    update = await last_update(slack, post)
    assert "Sent by <@UALICE>" in texts(update["blocks"]) and buttons(update) == ["hand_back"]
