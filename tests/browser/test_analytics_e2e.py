"""The analytics page says what each figure counts: units and definitions on every figure, a day chart that
counts the conversations its KPI counts, labelled percentages in the phase evidence, cards laid out in rows."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import LIVE, api, sign_in
from tests.browser.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def talk(stack: Stack, *texts: str) -> None:
    """One customer conversation through the widget API, several messages long."""
    created = api(stack, "POST", "/api/conversations", {})
    headers = {"X-Conversation-Token": created["token"]}
    for text in texts:
        api(stack, "POST", f"/api/conversations/{created['conversation_id']}/messages", {"text": text},
            headers=headers)


def test_every_figure_is_labelled_and_the_day_chart_counts_conversations(stack: Stack, browser: Any) -> None:
    talk(stack, "How do I reset my password?", "And how long is the link valid?", "Can I export my data?")
    talk(stack, "Is the moon made of cheese?")  # a handoff: the other kind of conversation
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    sign_in(page, stack, "alice")
    page.get_by_role("button", name="Analytics").click()
    kpis = page.locator("#kpis .kpi")
    expect(kpis.first).to_be_visible(timeout=LIVE)

    for i in range(kpis.count()):
        box = kpis.nth(i)
        assert box.get_attribute("title"), box.inner_text()  # the definition, on hover
        assert box.locator(".unit").inner_text().strip(), box.inner_text()  # the unit, beside the value
    conversations = int(kpis.filter(has_text="Conversations").first.locator(".value").inner_text().split()[0])
    messages = int(kpis.filter(has_text="Conversations").first.locator(".hint").inner_text().split()[-3])
    assert messages > conversations  # the case where counting messages and conversations tell apart

    bars = page.locator("#chart-days svg rect title").all_text_contents()
    plotted = sum(int(text.rsplit(": ", 1)[1]) for text in bars)
    assert plotted == conversations, bars
    expect(page.locator("#chart-days svg")).to_contain_text("conversations")  # the axis says its unit
    for chart in ("chart-days", "chart-categories", "chart-reasons"):
        expect(page.locator(f"#{chart} .caption")).not_to_be_empty()

    evidence = page.locator("#phase-report td:last-child").all_inner_texts()
    assert evidence and all("% of them" in text for text in evidence if "%" in text), evidence
    assert not any(re.search(r"\(\d+%\)", text) for text in evidence), evidence

    drafts = page.locator("#drafts-card").bounding_box()
    reasons = page.locator("#chart-reasons").locator("xpath=..").bounding_box()
    assert drafts and reasons and drafts["y"] == reasons["y"], (drafts, reasons)  # side by side, not alone
