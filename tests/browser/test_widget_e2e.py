"""End to end: the widget and the agent console, against a real server and worker on the real Redis.

Answers come from the shipped sample help centre (service/sample_docs) in embedded Chroma; handoffs are
opened by the Celery worker; everything reaches both pages through their WebSockets.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import WebSocketRoute, expect

from tests.browser.helpers import (
    FIRST_ANSWER,
    LIVE,
    XSS,
    api,
    ask,
    conversation_id,
    handed_to_alice,
    open_widget,
    reloaded_widget,
    save_screenshot,
    sign_in,
)
from tests.browser.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class Network:
    """Sits between the widget and its live endpoint, so the test can drop the connection at will."""

    def __init__(self) -> None:
        self.up = True
        self.routes: list[WebSocketRoute] = []

    def route(self, ws: WebSocketRoute) -> None:
        if not self.up:
            ws.close(code=4000, reason="network down")  # any code but 4403: the widget retries
            return
        ws.connect_to_server()
        self.routes.append(ws)

    def drop(self) -> None:
        self.up = False
        for ws in self.routes:
            ws.close(code=4000, reason="network down")
        self.routes.clear()


def test_customer_and_agent_end_to_end(stack: Stack, browser: Any) -> None:
    customer = browser.new_context(viewport={"width": 1280, "height": 820}).new_page()
    agent = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    network = Network()
    customer.route_web_socket(re.compile(r"/api/conversations/[^/]+/live"), network.route)
    customer.goto(f"{stack.base_url}/demo")
    widget = open_widget(customer)
    log = widget.get_by_role("log")

    # 1. An in-scope question: the steps, with a "read more" link to their section of the article.
    ask(customer, "How do I reset my password?")
    answer = log.locator(".msg.bot", has_text="reset").last
    expect(answer).to_be_visible(timeout=FIRST_ANSWER)
    expect(answer.get_by_role("link", name="Resetting your password › Steps to reset your password")
           ).to_have_attribute("href", "https://help.acme.cloud/articles/reset-password#steps-to-reset-your-password")

    # 2. The agent signs in before anyone asks for help: the queue must fill without a reload.
    sign_in(agent, stack, "alice")

    # 3. Out of scope: an acknowledgement now, a handoff opened by the worker.
    ask(customer, "Can you recommend a good lasagna recipe?")
    expect(log.locator(".msg.system", has_text="support team")).to_be_visible(timeout=LIVE)
    queued = agent.locator(f"#queue button[data-conversation='{conversation_id(customer)}']")
    expect(queued).to_be_visible(timeout=LIVE)

    # 4. Markup from the customer is text everywhere.
    ask(customer, XSS)
    expect(log.locator(".msg.customer:not(.pending)", has_text="onerror")).to_have_count(1, timeout=LIVE)
    assert log.locator(".msg.customer .text").last.inner_text().strip() == XSS
    assert log.locator("img").count() == 0

    # 5. A reload keeps the conversation, and the panel open.
    widget = reloaded_widget(customer)
    log = widget.get_by_role("log")
    expect(log.get_by_role("link", name="Resetting your password")).to_be_visible(timeout=LIVE)
    expect(log.locator(".msg.customer", has_text="onerror")).to_have_count(1)
    expect(log.locator(".msg.system", has_text="support team")).to_be_visible()

    # 6. The agent opens the handoff, claims it and replies: the widget shows it live.
    queued.click()
    transcript = agent.locator("#transcript")
    expect(transcript.locator(".customer .body", has_text="onerror")).to_have_text(XSS, timeout=LIVE)
    assert transcript.locator("img").count() == 0
    agent.get_by_role("button", name="Claim", exact=True).click()
    expect(agent.locator("#claim")).to_have_text("Claimed by you", timeout=LIVE)
    joined = log.locator(".msg.system", has_text="Alice from our support team has joined")
    expect(joined).to_be_visible(timeout=LIVE)

    # Both sides see the other typing (signals only, nothing stored).
    customer.get_by_label("Your message").fill("Let me think")
    expect(agent.locator("#typing")).to_have_text(re.compile("is typing"), timeout=LIVE)
    customer.get_by_label("Your message").fill("")
    agent.get_by_label("Message").fill("Just a sec")
    expect(widget.locator(".indicator")).to_have_text("Alice is typing\u2026", timeout=LIVE)
    agent.get_by_label("Message").fill("Off-topic, but friendly customer. Handing back after this.")
    agent.get_by_role("button", name="Add internal note").click()
    expect(transcript.locator(".note")).to_have_count(1, timeout=LIVE)
    agent.get_by_label("Message").fill("Hello from Alice")
    agent.get_by_role("button", name="Send reply").click()
    expect(log.locator(".msg.agent", has_text="Hello from Alice")).to_be_visible(timeout=LIVE)
    expect(log.locator(".msg", has_text="Handing back after this")).to_have_count(0)  # notes stay internal
    expect(transcript.locator(".agent", has_text="Hello from Alice")).to_be_visible(timeout=LIVE)

    # 7. The widget's connection drops while Alice writes: after reconnecting it has everything, once.
    network.drop()
    expect(widget.locator(".status")).to_have_text("Reconnecting\u2026", timeout=LIVE)
    agent.get_by_label("Message").fill("The lasagna question is outside what we support, sorry!")
    agent.get_by_role("button", name="Send reply").click()
    expect(transcript.locator(".agent", has_text="outside what we support")).to_be_visible(timeout=LIVE)
    network.up = True
    expect(log.locator(".msg.agent", has_text="outside what we support")).to_have_count(1, timeout=LIVE)
    expect(widget.locator(".status")).to_have_text("", timeout=LIVE)
    seqs = [int(s) for s in log.locator(".msg[data-seq]").evaluate_all("ns => ns.map(n => n.dataset.seq)")]
    assert seqs == sorted(set(seqs)), seqs  # in order, none twice
    save_screenshot(agent, "console.png")

    # 8. Hand back: the bot answers the next question again.
    agent.get_by_role("button", name="Hand back to bot").click()
    back = log.locator(".msg.system", has_text="chatting with the assistant again")
    expect(back).to_be_visible(timeout=LIVE)
    expect(queued).to_have_count(0, timeout=LIVE)

    # 9. The customer rates the help (CSAT), then the bot answers again and asks whether that solved it.
    rating = log.get_by_role("group", name="How would you rate the help you got?")
    rating.get_by_role("button", name=re.compile("^Rate 5 out of 5")).click()
    expect(log.get_by_text("You rated us 5 out of 5")).to_be_visible(timeout=LIVE)
    ask(customer, "How do I export my data?")
    expect(log.get_by_role("link", name="Exporting your data")).to_be_visible(timeout=LIVE)
    helpful = log.get_by_role("group", name="Did this answer your question?")
    expect(helpful).to_be_visible()
    save_screenshot(customer, "widget.png")
    helpful.get_by_role("button", name="Yes").click()
    expect(log.get_by_text("Great, thanks for letting us know.")).to_be_visible(timeout=LIVE)

    assert customer.evaluate("window.__xss") is None
    assert agent.evaluate("window.__xss") is None


def test_reload_and_a_killed_server_lose_no_message(stack: Stack, browser: Any) -> None:
    customer = browser.new_context(viewport={"width": 1280, "height": 820}).new_page()
    customer.goto(f"{stack.base_url}/demo")
    widget = open_widget(customer)
    log = widget.get_by_role("log")
    cid = handed_to_alice(stack, customer, widget, "Alice here, how can I help?")
    expect(log.locator(".msg.agent", has_text="Alice here")).to_be_visible(timeout=LIVE)

    widget = reloaded_widget(customer)
    log = widget.get_by_role("log")
    expect(log.locator(".msg.agent", has_text="Alice here")).to_have_count(1, timeout=LIVE)
    ask(customer, "One: before the crash")
    expect(log.locator(".msg.customer:not(.pending)", has_text="One:")).to_have_count(1, timeout=LIVE)

    ask(customer, "Two: while the server dies")
    stack.kill_server()
    ask(customer, "Three: while the server is down")
    expect(log.locator(".unsent").first).to_be_visible(timeout=LIVE)
    stack.start_server()
    customer.evaluate("window.dispatchEvent(new Event('online'))")  # as the browser does when back online
    for text in ("One:", "Two:", "Three:"):  # the restarted server loads its encoder on the first of them
        expect(log.locator(".msg.customer:not(.pending)", has_text=text)).to_have_count(1, timeout=FIRST_ANSWER)
    api(stack, "POST", f"/api/agent/conversations/{cid}/reply", {"text": "Got all three."})
    expect(log.locator(".msg.agent", has_text="Got all three.")).to_have_count(1, timeout=LIVE)
    expect(log.locator(".pending")).to_have_count(0)
    seqs = [int(s) for s in log.locator(".msg[data-seq]").evaluate_all("ns => ns.map(n => n.dataset.seq)")]
    assert seqs == sorted(set(seqs)), seqs
    stored = [m["text"] for m in api(stack, "GET", f"/api/agent/conversations/{cid}")["transcript"]]
    for text in ("One: before the crash", "Two: while the server dies", "Three: while the server is down"):
        assert stored.count(text) == 1, stored
    assert stored.index("One: before the crash") < stored.index("Three: while the server is down")


def test_widget_on_an_allowed_origin_works_and_a_refused_origin_is_turned_away(stack: Stack, browser: Any) -> None:
    phone = browser.new_context(viewport={"width": 390, "height": 780}, is_mobile=True, has_touch=True).new_page()
    phone.goto(stack.other_origins["allowed"])
    widget = open_widget(phone, "Shop support")
    log = widget.get_by_role("log")
    expect(log.locator(".greeting")).to_have_text(re.compile("Hello from the shop!"))
    ask(phone, "How do I export my data?")
    expect(log.get_by_role("link", name="Exporting your data")).to_be_visible(timeout=FIRST_ANSWER)
    box = widget.locator(".panel").bounding_box()
    assert box is not None and box["width"] <= 390  # full width on a phone, no sideways scrolling
    save_screenshot(phone, "widget-mobile.png")

    refused = browser.new_context().new_page()
    refused.goto(stack.other_origins["refused"])
    widget = open_widget(refused, "Shop support")
    ask(refused, "Hello?")
    expect(widget.get_by_role("alert")).to_be_visible(timeout=LIVE)
    assert widget.locator(".msg.customer").count() == 0
    request = urllib.request.Request(f"{stack.base_url}/api/conversations", method="POST", data=b"{}",
                                     headers={"Origin": stack.other_origins["refused"],
                                              "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refusal:
        urllib.request.urlopen(request, timeout=10)
    assert refusal.value.code == 403
