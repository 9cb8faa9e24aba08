"""Employees ask in a DM, by mention or with /helpdesk; the answer lands in their thread, once."""

from __future__ import annotations

from connectors.slack.convert import SlackThread
from tests.connectors.slack.conftest import EMPLOYEE, Slack, settle, sign, texts
from tests.fakes.slack_api import TEAM_ID
from tests.waiting import eventually


async def test_dm_question_is_answered_in_its_thread_with_sources(slack: Slack) -> None:
    event = slack.dm("How do I reset my password?")
    response = await slack.event(event)
    assert response.status_code == 200
    [answer] = await eventually(lambda: slack.thread_posts(event["channel"], event["ts"]))
    assert "open Settings, choose Security" in answer["text"]
    rendered = texts(answer["blocks"])
    assert answer["blocks"][0]["type"] == "section" and "Settings" in rendered
    assert "Sources: Resetting your password" in rendered
    state = await slack.container.store.load(
        SlackThread(TEAM_ID, event["channel"], event["ts"]).conversation_id
    )
    assert state is not None and state.channel == "slack" and state.customer.id == EMPLOYEE


async def test_follow_up_in_the_dm_thread_continues_the_same_conversation(slack: Slack) -> None:
    first = slack.dm("How do I reset my password?")
    await slack.event(first)
    await eventually(lambda: slack.thread_posts(first["channel"], first["ts"]))
    await slack.event(slack.dm("Is the password reset link emailed?", thread_ts=first["ts"]))
    await eventually(lambda: len(slack.thread_posts(first["channel"], first["ts"])) == 2)
    conversation_id = SlackThread(TEAM_ID, first["channel"], first["ts"]).conversation_id
    history = await slack.container.store.history(conversation_id)
    assert [e.message.sender.role.value for e in history] == ["customer", "bot", "customer", "bot"]


async def test_mention_in_a_channel_is_answered_in_the_thread(slack: Slack) -> None:
    event = slack.mention("How do I reset my password?")
    assert (await slack.event(event)).status_code == 200
    [answer] = await eventually(lambda: slack.thread_posts("CGENERAL", event["ts"]))
    assert "Settings" in answer["text"]
    conversation_id = SlackThread(TEAM_ID, "CGENERAL", event["ts"]).conversation_id
    [question, _] = await slack.container.store.history(conversation_id)
    assert question.message.text == "How do I reset my password?"  # the bot's mention is not part of it


async def test_mention_and_its_message_event_are_one_turn(slack: Slack) -> None:
    """Slack sends app_mention and message.channels for one typed message in a thread; one answer."""
    top = slack.mention("How do I reset my password?")
    await slack.event(top)
    await eventually(lambda: slack.thread_posts("CGENERAL", top["ts"]))
    follow = slack.in_thread("thanks, and the reset link?", "CGENERAL", top["ts"], EMPLOYEE)
    await slack.event(follow)  # no mention: a follow-up of the thread's employee
    await eventually(lambda: len(slack.thread_posts("CGENERAL", top["ts"])) == 2)
    await slack.event(slack.in_thread("someone else chatting", "CGENERAL", top["ts"], "UOTHER"))
    await settle()
    assert len(slack.thread_posts("CGENERAL", top["ts"])) == 2


async def test_slash_command_acks_at_once_then_answers_in_a_dm_thread(slack: Slack) -> None:
    response = await slack.command("How do I reset my password?")
    assert response.status_code == 200
    assert response.json() == {"response_type": "ephemeral", "text": "Looking into it…"}
    [opened] = await eventually(lambda: slack.api.of("conversations.open", users=EMPLOYEE))
    channel = opened.response["channel"]["id"]
    [parent] = await eventually(
        lambda: [
            c for c in slack.api.of("chat.postMessage", channel=channel) if not c.params.get("thread_ts")
        ]
    )
    assert "How do I reset my password?" in parent.params["text"]
    [answer] = await eventually(lambda: slack.thread_posts(channel, parent.response["ts"]))
    assert "Settings" in answer["text"]


async def test_empty_slash_command_explains_usage(slack: Slack) -> None:
    response = await slack.command("   ")
    assert "Ask a question after the command" in response.json()["text"]
    await settle()
    assert slack.api.of("chat.postMessage") == []


async def test_retried_event_is_answered_once(slack: Slack) -> None:
    event = slack.dm("How do I reset my password?")
    body = slack.event_body(event, event_id="EvRETRY1")
    assert (await slack.post(body, "application/json")).status_code == 200
    for n, reason in ((1, "http_timeout"), (2, "http_error")):
        retry = await slack.post(
            body, "application/json", headers={"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": reason}
        )
        assert retry.status_code == 200
    await settle()
    assert len(slack.thread_posts(event["channel"], event["ts"])) == 1


async def test_retry_of_an_event_the_first_delivery_never_handled_is_answered(slack: Slack) -> None:
    """connection_failed: the first attempt never reached us, so the retry is the one to answer."""
    event = slack.dm("How do I reset my password?")
    body = slack.event_body(event)
    await slack.post(
        body,
        "application/json",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "connection_failed"},
    )
    await eventually(lambda: slack.thread_posts(event["channel"], event["ts"]))
    await settle()
    assert len(slack.thread_posts(event["channel"], event["ts"])) == 1


async def test_bot_and_edited_messages_are_ignored(slack: Slack) -> None:
    own = {**slack.dm("I am the bot"), "bot_id": "BBOT"}
    edited = {**slack.dm("How do I reset my password?"), "subtype": "message_changed"}
    await slack.event(own)
    await slack.event(edited)
    await settle()
    assert slack.api.of("chat.postMessage") == []


async def test_rate_limited_post_is_retried_after_retry_after_and_arrives_once(slack: Slack) -> None:
    slack.api.rate_limit("chat.postMessage", times=1, retry_after=1)
    event = slack.dm("How do I reset my password?")
    await slack.event(event)
    [answer] = await eventually(lambda: slack.thread_posts(event["channel"], event["ts"]))
    await settle()
    attempts = slack.api.attempts("chat.postMessage")
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0  # waited for Retry-After
    assert len(slack.thread_posts(event["channel"], event["ts"])) == 1 and "Settings" in answer["text"]


async def test_timed_out_retry_is_acked_without_reaching_the_listeners() -> None:
    from slack_bolt import BoltResponse
    from slack_bolt.request.async_request import AsyncBoltRequest

    from connectors.slack.app import skip_timed_out_retries

    reached: list[str] = []

    async def listeners() -> BoltResponse:
        reached.append("yes")
        return BoltResponse(status=200)

    def request(reason: str) -> AsyncBoltRequest:
        return AsyncBoltRequest(body="{}", headers={"x-slack-retry-num": "1", "x-slack-retry-reason": reason})

    skipped = await skip_timed_out_retries(request("http_timeout"), BoltResponse(status=200), listeners)
    assert skipped.status == 200 and reached == []
    await skip_timed_out_retries(request("http_error"), BoltResponse(status=200), listeners)
    assert reached == ["yes"]


async def test_timed_out_retry_is_short_circuited_in_the_app(slack: Slack) -> None:
    """The middleware is wired: a timed-out retry alone (first delivery still in flight) does nothing."""
    event = slack.dm("How do I reset my password?")
    response = await slack.post(
        slack.event_body(event),
        "application/json",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert response.status_code == 200
    await settle()
    assert slack.api.of("chat.postMessage") == []


async def test_a_replayed_signed_command_is_answered_once(slack: Slack) -> None:
    body = slack.command_body("How do I reset my password?")
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    for _ in range(3):  # someone who captured the request sends it again within Slack's 5-minute window
        response = await slack.http.post("/slack/events", content=body.encode(), headers=headers)
        assert response.status_code == 200
    await eventually(lambda: slack.api.of("conversations.open", users=EMPLOYEE))
    await settle()
    parents = [c for c in slack.api.of("chat.postMessage") if not c.params.get("thread_ts")]
    assert len(parents) == 1
    assert len(slack.thread_posts(parents[0].params["channel"], parents[0].response["ts"])) == 1


async def test_a_lone_surrogate_in_a_message_is_replaced_not_an_error(slack: Slack) -> None:
    event = slack.dm("How do I reset my password? \ud800")
    assert (await slack.event(event)).status_code == 200
    [answer] = await eventually(lambda: slack.thread_posts(event["channel"], event["ts"]))
    assert "Settings" in answer["text"]
    history = await slack.container.store.history(SlackThread(TEAM_ID, event["channel"], event["ts"]).conversation_id)
    assert history[0].message.text.endswith("\ufffd")
