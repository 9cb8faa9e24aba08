"""axe-core (WCAG 2.1 A and AA rules) over the widget's and the console's main states, in Chromium, with
each page's own Content-Security-Policy in force: no serious or critical violation may remain."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.helpers import FIRST_ANSWER, LIVE, api, ask, handed_to_alice, open_widget, sign_in, wait_for_handoff
from tests.browser.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
              "resultTypes": ["violations"]}


def serious_violations(page: Page) -> list[str]:
    """axe runs in the page (evaluated, so the page's CSP stays on); shadow roots are checked too."""
    found = Axe().run(page, options=WCAG_21_AA).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:4]}"
            for v in found if v["impact"] in ("serious", "critical")]


def assert_accessible(page: Page, state: str) -> None:
    problems = serious_violations(page)
    assert not problems, f"{state}:\n" + "\n".join(problems)


def test_widget_states_have_no_serious_accessibility_violations(stack: Stack, browser: Any) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 820}).new_page()
    page.goto(f"{stack.base_url}/demo")
    expect(page.get_by_role("button", name=re.compile("^Chat with us"))).to_be_visible(timeout=LIVE)
    assert_accessible(page, "demo page, chat closed")

    widget = open_widget(page)
    log = widget.get_by_role("log")
    ask(page, "How do I reset my password?")
    expect(log.get_by_role("group", name="Did this answer your question?")).to_be_visible(timeout=FIRST_ANSWER)
    assert_accessible(page, "a cited answer with the Yes/No question")

    cid = handed_to_alice(stack, page, widget, "Alice here, happy to help.")
    ask(page, "Thanks!")
    expect(log.locator(".ack").first).to_be_visible(timeout=LIVE)
    assert_accessible(page, "with a person, acknowledgements and times")

    api(stack, "POST", f"/api/agent/conversations/{cid}/resolve")
    expect(log.get_by_role("group", name="How would you rate the help you got?")).to_be_visible(timeout=LIVE)
    assert_accessible(page, "resolved, asking for a rating")

    phone = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True).new_page()
    phone.goto(f"{stack.base_url}/demo")
    open_widget(phone)
    assert_accessible(phone, "full-screen panel at phone width")


def test_console_pages_have_no_serious_accessibility_violations(stack: Stack, browser: Any) -> None:
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.goto(f"{stack.base_url}/console")
    expect(page.get_by_role("form", name="Sign in")).to_be_visible(timeout=LIVE)
    assert_accessible(page, "sign-in")

    created = api(stack, "POST", "/api/conversations", {})
    cid, token = created["conversation_id"], created["token"]
    api(stack, "POST", f"/api/conversations/{cid}/messages", {"text": "Can you recommend a good lasagna recipe?"},
        headers={"X-Conversation-Token": token})
    wait_for_handoff(stack, cid)
    api(stack, "POST", f"/api/conversations/{cid}/messages", {"text": "It is for six people."},
        headers={"X-Conversation-Token": token})
    sign_in(page, stack, "alice")
    page.locator("#queue button", has_text="six people").click(timeout=LIVE)
    expect(page.locator("#transcript li.customer", has_text="six people")).to_be_visible(timeout=LIVE)
    page.get_by_role("button", name="Claim", exact=True).click()
    expect(page.locator("#claim")).to_have_text("Claimed by you", timeout=LIVE)
    page.get_by_label("Message").fill("Regular customer.")
    page.get_by_role("button", name="Add internal note").click()
    expect(page.locator("#transcript .note")).to_be_visible(timeout=LIVE)
    assert_accessible(page, "inbox with a claimed conversation and a note")

    page.get_by_role("button", name="Analytics").click()
    expect(page.locator("#kpis .kpi").first).to_be_visible(timeout=LIVE)
    assert_accessible(page, "analytics")
    page.get_by_role("button", name="Admin").click()
    expect(page.locator("#agents table")).to_be_visible(timeout=LIVE)
    assert_accessible(page, "admin")
    api(stack, "POST", f"/api/agent/conversations/{cid}/resolve")
