"""End to end: the widget on the demo page and the agent console, against a real server and worker.

Answers come from the shipped sample help center (service/sample_docs) in embedded Chroma; the handoff is
opened by the Celery worker; everything reaches both pages through their WebSockets.
"""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.browser.stack import ROOT, Stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

XSS = '<img src=x onerror="window.__xss=1">'
FIRST_ANSWER = 90_000  # ms: the server loads the embedding model on the first question
LIVE = 20_000


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


def open_widget(page: Page) -> Any:
    page.get_by_role("button", name="Open chat: Acme support").click()
    return page.locator("#supportbot-widget")


def ask(page: Page, text: str) -> None:
    box = page.get_by_label("Your message")
    box.fill(text)
    box.press("Enter")


def save_screenshot(page: Page, name: str, **options: Any) -> None:
    """Into artifacts/ for this run, and into docs/ for the README."""
    target = ROOT / "artifacts" / "screenshots" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), **options)
    shutil.copyfile(target, ROOT / "docs" / name)


def test_customer_and_agent_end_to_end(stack: Stack, browser: Any) -> None:
    customer = browser.new_context(viewport={"width": 1280, "height": 820}).new_page()
    agent = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    network = Network()
    customer.route_web_socket(re.compile(r"/api/conversations/[^/]+/live"), network.route)
    customer.goto(f"{stack.base_url}/demo")
    widget = open_widget(customer)
    log = widget.get_by_role("log")

    # 1. An in-scope question: a grounded answer with a link to its help-center article.
    ask(customer, "How do I reset my password?")
    answer = log.locator(".msg.bot", has_text="reset").last
    expect(answer).to_be_visible(timeout=FIRST_ANSWER)
    expect(answer.get_by_role("link", name="Resetting your password")).to_have_attribute(
        "href", "https://help.acme.cloud/articles/reset-password")

    # 2. The agent signs in before anyone asks for help: the queue must fill without a reload.
    agent.goto(f"{stack.base_url}/console")
    agent.get_by_label("Your name").fill("Alice")
    agent.get_by_label("Agent token").fill(stack.agent_token)
    agent.get_by_role("button", name="Open the queue").click()
    expect(agent.locator("#live")).to_have_text("Live", timeout=LIVE)
    expect(agent.locator("#queue-empty")).to_be_visible()

    # 3. Out of scope: an acknowledgement now, a handoff opened by the worker.
    ask(customer, "Can you recommend a good lasagna recipe?")
    expect(log.locator(".msg.system", has_text="support team")).to_be_visible(timeout=LIVE)
    queued = agent.locator("#queue button", has_text="lasagna")
    expect(queued).to_be_visible(timeout=LIVE)

    # 4. Markup from the customer is text everywhere.
    ask(customer, XSS)
    expect(log.locator(".msg.customer:not(.pending)", has_text="onerror")).to_have_count(1, timeout=LIVE)
    assert log.locator(".msg.customer").last.inner_text().strip().endswith(XSS)
    assert log.locator("img").count() == 0

    # 5. A reload keeps the conversation.
    customer.reload()
    widget = open_widget(customer)
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
    expect(agent.locator("#claim")).to_have_text("Claimed by Alice", timeout=LIVE)
    joined = log.locator(".msg.system", has_text="Alice from our support team has joined")
    expect(joined).to_be_visible(timeout=LIVE)
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
    expect(agent.locator("#queue-empty")).to_be_visible(timeout=LIVE)
    ask(customer, "How do I export my data?")
    expect(log.get_by_role("link", name="Exporting your data")).to_be_visible(timeout=LIVE)
    save_screenshot(customer, "widget.png")

    assert customer.evaluate("window.__xss") is None
    assert agent.evaluate("window.__xss") is None
