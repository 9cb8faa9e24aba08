"""The console as an agent relies on it: a queue that tells the truth, alerts for new handoffs, the passage
a draft used, canned responses, search, and a layout that works on a phone."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import (
    FIRST_ANSWER,
    LIVE,
    api,
    ask,
    conversation_id,
    open_widget,
    save_screenshot,
    sign_in,
    wait_for_handoff,
)
from tests.browser.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Counts the alerts the console raises, and lets the real ones through.
RECORD_ALERTS = """(() => {
  window.__notes = []; window.__tones = 0;
  const Real = window.Notification;
  if (Real) {
    const Recorded = function (title, options) {
      window.__notes.push({title: title, body: options && options.body});
      return new Real(title, options);
    };
    Object.defineProperty(Recorded, 'permission', {get: () => Real.permission});
    Recorded.requestPermission = (...a) => Real.requestPermission(...a);
    window.Notification = Recorded;
  }
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...a) { window.__tones++; return start.apply(this, a); };
})();"""


def customer_says(stack: Stack, *texts: str) -> tuple[str, dict[str, str]]:
    created = json.loads(urllib.request.urlopen(urllib.request.Request(
        f"{stack.base_url}/api/conversations", method="POST", data=b"{}",
        headers={"Content-Type": "application/json"}), timeout=30).read())
    headers = {"X-Conversation-Token": created["token"], "Content-Type": "application/json"}
    for text in texts:
        more_words(stack, created["conversation_id"], headers, text)
    return created["conversation_id"], headers


def more_words(stack: Stack, cid: str, headers: dict[str, str], text: str) -> None:
    urllib.request.urlopen(urllib.request.Request(
        f"{stack.base_url}/api/conversations/{cid}/messages", method="POST",
        data=json.dumps({"text": text}).encode(), headers=headers), timeout=120).read()


def folded(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def unclaimed(stack: Stack) -> int:
    return sum(1 for h in api(stack, "GET", "/api/agent/handoffs") if not h["claimed_by"])


def test_queue_counts_only_the_unclaimed_previews_the_latest_words_and_alerts(stack: Stack, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["notifications"], origin=stack.base_url)
    context.add_init_script(RECORD_ALERTS)
    agent = context.new_page()
    sign_in(agent, stack, "alice")
    expect(agent.locator("#notify")).to_have_text("Desktop alerts on")
    agent.get_by_label("Sound for new handoffs").check()
    tones = agent.evaluate("window.__tones")

    first, headers = customer_says(stack, "Can you recommend a good lasagna recipe?")
    second, _ = customer_says(stack, "Which wine goes with a pizza margherita?")
    handoff = wait_for_handoff(stack, first)
    wait_for_handoff(stack, second)
    expect(agent.locator("#queue button", has_text="pizza margherita")).to_be_visible(timeout=LIVE)
    # the alert follows the handoff's own event, which may come after the queue already shows the item
    # polled from here: `wait_for_function` evaluates its text as a script, which the console's CSP refuses
    deadline = time.monotonic() + LIVE / 1000
    while not any("pizza margherita" in (n.get("body") or "") for n in agent.evaluate("window.__notes")):
        assert time.monotonic() < deadline, agent.evaluate("window.__notes")
        agent.wait_for_timeout(100)
    notes = agent.evaluate("window.__notes")
    assert all(n["title"].startswith("Waiting for a person") for n in notes), notes
    assert agent.evaluate("window.__tones") > tones

    more_words(stack, first, headers, "Actually it is about my last invoice")
    item = agent.locator("#queue li button", has_text="about my last invoice")
    expect(item).to_be_visible(timeout=LIVE)  # the latest words, not the message that asked for a person
    expect(item.locator(".question")).to_have_attribute("title", re.compile("lasagna"))

    api(stack, "POST", f"/api/agent/handoffs/{handoff['id']}/claim")
    expect(item).to_contain_text("Claimed by Alice", timeout=LIVE)
    expect(item).not_to_contain_text("Waiting")
    item.click()
    expect(agent.locator("#facts")).to_contain_text("Claimed just now", timeout=LIVE)
    expect(agent.locator("#facts")).not_to_contain_text(re.compile(r"Waiting (under|\d)"))
    waiting = unclaimed(stack)
    assert waiting < len(api(stack, "GET", "/api/agent/handoffs"))
    expect(agent.locator("#count")).to_have_text(str(waiting))
    for cid in (first, second):
        api(stack, "POST", f"/api/agent/conversations/{cid}/resolve")
    expect(agent.locator("#count")).to_have_text(str(unclaimed(stack)), timeout=LIVE)


def test_a_draft_shows_its_passage_with_the_sentences_it_used_marked(stack: Stack, browser: Any) -> None:
    agent = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    sign_in(agent, stack, "alice")
    api(stack, "POST", "/api/agent/admin/phases/general", {"phase": "draft"})
    try:
        customer = browser.new_context().new_page()
        customer.goto(f"{stack.base_url}/demo")
        open_widget(customer)
        ask(customer, "How do I export my data?")
        sent = customer.get_by_role("log").locator(".msg.customer:not(.pending)")
        expect(sent).to_have_count(1, timeout=FIRST_ANSWER)
        agent.locator(f"#queue button[data-conversation='{conversation_id(customer)}']").click(timeout=FIRST_ANSWER)
        draft = agent.locator("#draft")
        expect(draft.get_by_role("heading", name="Bot draft awaiting review")).to_be_visible(timeout=LIVE)
        marks = draft.locator(".snippet mark")
        expect(marks.first).to_be_visible()
        said = folded(draft.locator("#draft-text").inner_text())
        for used in marks.all_inner_texts():
            assert folded(used) in said, used
        for snippet in draft.locator(".snippet").all_inner_texts():
            last = snippet.rstrip().split()[-1]
            assert last.endswith("\u2026") or re.search(r"[.!?:)\w]$", last), snippet
        draft.get_by_role("button", name="Approve").click()
        expect(draft).to_be_hidden(timeout=LIVE)
    finally:
        api(stack, "POST", "/api/agent/admin/phases/general", {"phase": "full"})


def test_admins_keep_canned_responses_agents_insert_them_and_search_finds_conversations(
        stack: Stack, browser: Any) -> None:
    admin = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    sign_in(admin, stack, "alice")
    admin.get_by_role("button", name="Admin").click()
    form = admin.get_by_role("form", name="Add a canned response")
    form.get_by_label("Title").fill("Refund timing")
    form.get_by_label("Text").fill("Refunds reach your card within 5 working days.")
    form.get_by_role("button", name="Add canned response").click()
    expect(admin.locator("#canned-list")).to_contain_text("Refund timing", timeout=LIVE)

    cid, _ = customer_says(stack, "My parrot chewed the card, can I get a refund of order 4242?")
    wait_for_handoff(stack, cid)
    agent = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    sign_in(agent, stack, "bob")
    agent.get_by_role("searchbox", name="Search conversations").fill("parrot 4242")
    agent.get_by_role("button", name="Search", exact=True).click()
    found = agent.locator("#search-results button", has_text="parrot")
    expect(found).to_have_count(1, timeout=LIVE)
    expect(agent.locator("#search-title")).to_contain_text("1 conversation")
    found.click()
    expect(agent.locator("#transcript")).to_contain_text("order 4242", timeout=LIVE)

    composer = agent.get_by_label("Message")
    composer.fill("Hello! ")
    agent.get_by_label("Insert a canned response").select_option(label="Refund timing")
    expect(composer).to_have_value("Hello! Refunds reach your card within 5 working days.")

    agent.get_by_role("searchbox", name="Search conversations").fill("zebra-unheard-of")
    agent.get_by_role("button", name="Search", exact=True).click()
    expect(agent.locator("#search-title")).to_contain_text("Nothing found", timeout=LIVE)
    api(stack, "POST", f"/api/agent/conversations/{cid}/resolve")


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide at 375 px"


def test_console_at_phone_width_fits_and_shows_list_and_conversation_as_two_views(
        stack: Stack, browser: Any) -> None:
    cid, _ = customer_says(stack, "Can you recommend a good lasagna recipe for a phone test?")
    wait_for_handoff(stack, cid)
    phone = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True).new_page()
    phone.goto(f"{stack.base_url}/console")
    expect(phone.get_by_role("form", name="Sign in")).to_be_visible(timeout=LIVE)
    no_sideways_scroll(phone)
    sign_in(phone, stack, "alice")
    for part in (phone.locator("#who"), phone.get_by_role("button", name="Sign out")):
        expect(part).to_be_in_viewport(ratio=1)
    queue, detail = phone.get_by_role("navigation", name="Conversations"), phone.locator("#detail")
    expect(queue).to_be_visible()
    expect(detail).to_be_hidden()
    no_sideways_scroll(phone)

    phone.locator("#queue button", has_text="phone test").click(timeout=LIVE)
    expect(detail).to_be_visible()
    expect(queue).to_be_hidden()
    expect(phone.locator("#transcript")).to_contain_text("phone test", timeout=LIVE)
    no_sideways_scroll(phone)
    save_screenshot(phone, "console-mobile.png")
    phone.get_by_role("button", name="Conversations").click()
    expect(queue).to_be_visible()

    for section, drawn in (("Analytics", "#kpis .kpi"), ("Admin", "#agents table")):
        phone.get_by_role("button", name=section, exact=True).click()
        expect(phone.locator(drawn).first).to_be_visible(timeout=LIVE)
        no_sideways_scroll(phone)
        expect(phone.get_by_role("button", name="Sign out")).to_be_in_viewport(ratio=1)
    api(stack, "POST", f"/api/agent/conversations/{cid}/resolve")
