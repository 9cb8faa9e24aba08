"""What the customer sees as a conversation changes hands: acknowledgements, the "Talk to a human" button,
times, a person's replies marked as such, and a panel that stays open across a reload. Also what a screen
reader hears: whole answers in one piece, the customer's own message kept in place, replies announced while
the panel is closed, and a full-screen panel that keeps the focus at phone width."""

from __future__ import annotations

import re
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
    reloaded_widget,
    wait_for_handoff,
)
from tests.browser.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ACK = "A person from our team will see this."
CLOCK = re.compile(r"^\d{1,2}:\d{2}( ?[AP]M)?$")

# Records what happens to the log as it happens (mutation records arrive before the next timer tick).
WATCH_LOG = """() => {
  const root = document.querySelector('#supportbot-widget').shadowRoot;
  const w = window.__watch = {customerRemoved: 0, answersAsInserted: [], askWhileRevealing: 0};
  new MutationObserver(records => {
    for (const r of records) {
      for (const n of r.removedNodes) {
        if (n.classList && n.classList.contains('customer') && !n.isConnected) w.customerRemoved++;
      }
      for (const n of r.addedNodes) {
        if (!n.classList) continue;
        if (n.classList.contains('bot') && !n.classList.contains('greeting')) {
          w.answersAsInserted.push((n.querySelector('.text') || n).textContent);
        }
        if (n.classList.contains('ask') && root.querySelector('.revealing, [aria-busy="true"]')) w.askWhileRevealing++;
      }
    }
  }).observe(root.querySelector('.log'), {childList: true});
}"""


def transcript(stack: Stack, cid: str) -> list[dict[str, Any]]:
    return list(api(stack, "GET", f"/api/agent/conversations/{cid}")["transcript"])


def test_widget_follows_the_conversation_through_a_handoff_and_back(stack: Stack, browser: Any) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 820}).new_page()
    page.goto(f"{stack.base_url}/demo")
    widget = open_widget(page)
    log = widget.get_by_role("log")
    human = widget.get_by_role("button", name="Talk to a human")
    page.evaluate(WATCH_LOG)

    # A bot answer: inserted whole for screen readers, the Yes/No question only after it, with times.
    ask(page, "How do I reset my password?")
    expect(log.get_by_role("group", name="Did this answer your question?")).to_be_visible(timeout=FIRST_ANSWER)
    cid = conversation_id(page)
    answer_text = next(m["text"] for m in transcript(stack, cid) if m["role"] == "bot")
    watched = page.evaluate("window.__watch")
    assert watched["answersAsInserted"] == [answer_text]
    assert watched["askWhileRevealing"] == 0
    assert watched["customerRemoved"] == 0  # the sent message stays the same element once the server has it
    for bubble in (log.locator(".msg.customer").first, log.locator(".msg.bot:not(.greeting)").first):
        expect(bubble.locator("time")).to_have_text(CLOCK)
    expect(log.locator(".msg.bot:not(.greeting) .tag")).to_have_text("Bot")
    expect(human).to_be_visible()

    # Waiting for a person: no button to ask again, and each later message says a person will read it.
    human.click()
    expect(log.locator(".msg.system", has_text="support team")).to_be_visible(timeout=LIVE)
    expect(human).to_be_hidden()
    ask(page, "Are you still there?")
    later = log.locator(".msg.customer", has_text="Are you still there?")
    expect(later.locator(".ack")).to_have_text(ACK, timeout=LIVE)
    expect(log.locator(".msg.customer", has_text="talk to a human").locator(".ack")).to_have_count(0)
    expect(log.locator(".msg.system time").first).to_have_text(CLOCK)

    # A reload: the panel is open again with the whole history, and still knows a person is coming.
    widget = reloaded_widget(page)
    log = widget.get_by_role("log")
    human = widget.get_by_role("button", name="Talk to a human")
    expect(log.locator(".msg.customer", has_text="Are you still there?").locator(".ack")).to_have_text(ACK)
    expect(human).to_be_hidden()

    # A person answers: marked as a person, not only by name.
    handoff = wait_for_handoff(stack, cid)
    api(stack, "POST", f"/api/agent/handoffs/{handoff['id']}/claim")
    api(stack, "POST", f"/api/agent/conversations/{cid}/reply", {"text": "Hi, Alice here. Let me look."})
    reply = log.locator(".msg.agent", has_text="Alice here")
    expect(reply.locator(".tag")).to_have_text("Person", timeout=LIVE)
    expect(reply.locator(".who")).to_contain_text("Alice")
    expect(human).to_be_hidden()
    ask(page, "Thank you!")
    expect(log.locator(".msg.customer", has_text="Thank you!").locator(".ack")).to_have_text(ACK, timeout=LIVE)

    # Closed panel: a reply is announced in words (the badge is only visual), and a reload keeps it closed.
    widget.get_by_role("button", name="Close chat").click()
    api(stack, "POST", f"/api/agent/conversations/{cid}/reply", {"text": "Found it: your account is fine."})
    expect(widget.locator("[role=status]", has_text="New message from Alice")).to_have_count(1, timeout=LIVE)
    page.reload()
    expect(page.get_by_role("button", name=re.compile("^Chat with us"))).to_be_visible(timeout=LIVE)
    expect(page.locator("#supportbot-widget").get_by_role("dialog")).to_be_hidden()

    # Resolved: the bot has it again, and the button is back.
    widget = open_widget(page)
    api(stack, "POST", f"/api/agent/conversations/{cid}/resolve")
    expect(widget.get_by_role("group", name="How would you rate the help you got?")).to_be_visible(timeout=LIVE)
    expect(widget.get_by_role("button", name="Talk to a human")).to_be_visible()


def focus_in_widget(page: Page) -> bool:
    return bool(page.evaluate("document.activeElement && document.activeElement.id === 'supportbot-widget'"))


def test_at_phone_width_the_open_panel_is_a_modal_that_keeps_the_focus(stack: Stack, browser: Any) -> None:
    phone = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True).new_page()
    phone.goto(f"{stack.base_url}/demo")
    widget = open_widget(phone)
    expect(widget.get_by_role("dialog")).to_have_attribute("aria-modal", "true")
    for key in ["Tab"] * 12 + ["Shift+Tab"] * 12:
        phone.keyboard.press(key)
        assert focus_in_widget(phone), f"focus left the chat after {key}"
    phone.locator("a", has_text="Pricing").focus()  # a link hidden under the panel
    assert focus_in_widget(phone)


REVIEWING = "A support agent is reviewing the answer\u2026"


def test_a_reload_while_a_draft_is_under_review_still_says_an_agent_is_reviewing_it(
        stack: Stack, browser: Any) -> None:
    api(stack, "POST", "/api/agent/admin/phases/general", {"phase": "draft"})
    try:
        page = browser.new_context(viewport={"width": 1280, "height": 820}).new_page()
        page.goto(f"{stack.base_url}/demo")
        widget = open_widget(page)
        ask(page, "How do I export my data?")
        expect(widget.locator(".indicator")).to_have_text(REVIEWING, timeout=FIRST_ANSWER)

        widget = reloaded_widget(page)
        expect(widget.get_by_role("log").locator(".msg.customer", has_text="export my data")).to_have_count(
            1, timeout=LIVE)
        expect(widget.locator(".indicator")).to_have_text(REVIEWING, timeout=LIVE)

        # The agent sends the draft: the line goes, the answer comes.
        api(stack, "POST", f"/api/agent/conversations/{conversation_id(page)}/draft/approve", {})
        expect(widget.get_by_role("log").get_by_role("link", name="Exporting your data")).to_be_visible(
            timeout=LIVE)
        expect(widget.locator(".indicator")).to_be_hidden()
    finally:
        api(stack, "POST", "/api/agent/admin/phases/general", {"phase": "full"})


def test_the_attach_button_is_a_drawn_icon_with_a_name_and_the_panel_says_help_centre(
        stack: Stack, browser: Any) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 820}).new_page()
    page.goto(f"{stack.base_url}/demo")
    widget = open_widget(page)
    attach = widget.get_by_role("button", name="Attach a file", exact=True)
    expect(attach.locator("svg")).to_have_count(1)
    expect(attach).to_have_text("")  # no emoji: without an emoji font it is a missing-glyph box
    box = attach.locator("svg").bounding_box()
    assert box is not None and box["width"] >= 16 and box["height"] >= 16
    expect(widget.get_by_role("dialog")).to_contain_text("Answers from our help centre")
    widget.locator("input[type=file]").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not an image"})
    chip = widget.locator(".tray .chip")
    expect(chip).to_contain_text("notes.txt")
    expect(chip.locator("svg")).to_have_count(1)  # the file icon is drawn too
    assert not re.search("[\U0001F300-\U0001FAFF]", chip.inner_text())
