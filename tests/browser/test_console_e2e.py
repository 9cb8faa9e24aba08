"""The console as agents use it: draft review in a draft-phase category, a race to claim, analytics."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    FIRST_ANSWER,
    LIVE,
    XSS,
    api,
    ask,
    conversation_id,
    open_widget,
    save_screenshot,
    sign_in,
)
from tests.browser.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EDITED = "Open Settings > Data > Export, then pick CSV. (Checked by Alice.)"


def test_draft_reaches_the_customer_only_as_the_agent_edited_it(stack: Stack, browser: Any) -> None:
    agent = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    sign_in(agent, stack, "alice")
    agent.get_by_role("button", name="Admin").click()
    agent.get_by_label("Phase of general").select_option("draft")
    expect(agent.locator("#admin-error")).to_have_text(re.compile("now in the draft phase"), timeout=LIVE)
    try:
        customer = browser.new_context().new_page()
        customer.goto(f"{stack.base_url}/demo")
        widget = open_widget(customer)
        log = widget.get_by_role("log")
        ask(customer, "How do I export my data?")
        expect(widget.locator(".indicator")).to_have_text(re.compile("reviewing"), timeout=FIRST_ANSWER)

        agent.get_by_role("button", name="Inbox").click()
        agent.locator(f"#queue button[data-conversation='{conversation_id(customer)}']").click()
        draft = agent.locator("#draft")
        expect(draft.get_by_role("heading", name="Bot draft awaiting review")).to_be_visible(timeout=LIVE)
        source = draft.get_by_role("link", name="Exporting your data")
        expect(source).to_have_attribute("href", re.compile("^https://help.acme.cloud/"))
        original = draft.locator("#draft-text").inner_text()
        assert log.locator(".msg.bot:not(.greeting)").count() == 0  # nothing reached the customer yet

        draft.get_by_role("button", name="Edit").click()
        agent.get_by_label("Edited answer").fill(EDITED)
        agent.get_by_role("button", name="Send edited answer").click()
        expect(log.locator(".msg.agent", has_text="Checked by Alice")).to_be_visible(timeout=LIVE)
        expect(log.get_by_text(original)).to_have_count(0)
        assert log.locator(".msg.bot:not(.greeting)").count() == 0
    finally:
        api(stack, "POST", "/api/agent/admin/phases/general", {"phase": "full"})

    agent.get_by_role("button", name="Analytics").click()
    expect(agent.locator("#chart-days svg")).to_be_visible(timeout=LIVE)
    expect(agent.locator("#kpis")).to_contain_text("Automation rate")
    expect(agent.locator("#chart-drafts svg")).to_be_visible()
    expect(agent.locator("#confidence-status")).to_contain_text("not calibrated yet")
    save_screenshot(agent, "analytics.png", full_page=True)


def test_two_agents_claim_one_handoff_one_wins(stack: Stack, browser: Any) -> None:
    alice = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    bob = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    sign_in(alice, stack, "alice")
    sign_in(bob, stack, "bob")

    created = json.loads(urllib.request.urlopen(urllib.request.Request(
        f"{stack.base_url}/api/conversations", method="POST", data=b"{}",
        headers={"Content-Type": "application/json"}), timeout=30).read())
    token = {"X-Conversation-Token": created["token"], "Content-Type": "application/json"}
    for text in ("Which wine goes with lasagna, honestly?", XSS):
        urllib.request.urlopen(urllib.request.Request(
            f"{stack.base_url}/api/conversations/{created['conversation_id']}/messages", method="POST",
            data=json.dumps({"text": text}).encode(), headers=token), timeout=120).read()

    for page in (alice, bob):
        queued = page.locator(f"#queue button[data-conversation='{created['conversation_id']}']")
        expect(queued).to_contain_text(XSS, timeout=FIRST_ANSWER)  # the customer's latest words
        queued.click()
        expect(page.locator("#transcript .customer .body", has_text="onerror")).to_have_text(XSS, timeout=LIVE)
        assert page.locator("#transcript img").count() == 0
    alice.get_by_role("button", name="Claim", exact=True).click()
    bob.locator("#claim").click(force=True)  # too late: either refused (409) or already shown as taken
    expect(alice.locator("#claim")).to_have_text("Claimed by you", timeout=LIVE)
    expect(bob.locator("#claim")).to_have_text("Claimed by Alice", timeout=LIVE)
    expect(bob.locator(f"#queue button[data-conversation='{created['conversation_id']}']")).to_contain_text(
        "Claimed by Alice")
    assert api(stack, "GET", f"/api/agent/conversations/{created['conversation_id']}")["state"]["agent"] == "alice"
    assert alice.evaluate("window.__xss") is None and bob.evaluate("window.__xss") is None
    api(stack, "POST", f"/api/agent/conversations/{created['conversation_id']}/resolve")  # leave the queue empty
