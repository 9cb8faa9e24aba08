"""Files end to end in Chromium: a widget customer sends a screenshot, an agent opens it in the console and
answers with a PDF the customer downloads; against the real server, worker and Redis."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import FIRST_ANSWER, LIVE, api, conversation_id, open_widget, sign_in, wait_for_handoff
from tests.browser.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GUIDE = b"%PDF-1.4\n% a short guide\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def downloaded(page: Any, click: Any) -> bytes:
    with page.expect_download(timeout=LIVE) as download:
        click()
    return Path(download.value.path()).read_bytes()


def test_a_screenshot_from_the_widget_opens_in_the_console_and_a_pdf_goes_back(stack: Stack, browser: Any,
                                                                               tmp_path: Path) -> None:
    customer = browser.new_context(viewport={"width": 1280, "height": 820}).new_page()
    agent = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    customer.goto(f"{stack.base_url}/demo")
    widget = open_widget(customer)
    screenshot = customer.screenshot()  # a real PNG, as a customer would send one
    widget.locator("input[type=file]").set_input_files(
        {"name": "screenshot.png", "mimeType": "image/png", "buffer": screenshot})
    preview = widget.locator(".tray img.thumb")
    expect(preview).to_have_attribute("src", re.compile("^blob:"))  # from the File object, not the server
    expect(preview).to_have_js_property("complete", True)
    assert preview.evaluate("img => img.naturalWidth") > 0  # the page's CSP lets the preview show
    widget.get_by_role("button", name="Send").click()
    log = widget.get_by_role("log")
    expect(log.locator(".msg.system", has_text="can't read attachments")).to_be_visible(timeout=FIRST_ANSWER)
    expect(log.locator(".msg.customer img.thumb")).to_be_visible()

    cid = conversation_id(customer)
    wait_for_handoff(stack, cid)
    sign_in(agent, stack, "alice")
    agent.locator(f"#queue button[data-conversation='{cid}']").click()
    thumb = agent.locator("#transcript img.thumb")
    expect(thumb).to_be_visible(timeout=LIVE)
    expect(thumb).to_have_attribute("src", re.compile(r"^/api/agent/attachments/[0-9a-f]{32}$"))
    # the image loads after the element shows: wait for its pixels, not only for the element
    expect(thumb).to_have_js_property("naturalWidth", customer.viewport_size["width"], timeout=LIVE)
    link = agent.locator("#transcript a", has_text="screenshot.png")
    assert downloaded(agent, link.click) == screenshot
    head = agent.request.get(stack.base_url + thumb.get_attribute("src"))  # the console's own session cookie
    assert head.ok and head.body() == screenshot and head.headers["content-type"] == "image/png"
    assert head.headers["content-disposition"].startswith("attachment;")
    anonymous = browser.new_context().request.get(stack.base_url + thumb.get_attribute("src"))
    assert anonymous.status == 401

    guide = tmp_path / "guide.pdf"
    guide.write_bytes(GUIDE)
    agent.locator("#reply-file").set_input_files(str(guide))
    expect(agent.locator("#reply-files")).to_contain_text("guide.pdf")
    agent.get_by_label("Message").fill("Here is the guide for that screen.")
    agent.get_by_role("button", name=re.compile("^(Send reply|Reply)")).click()
    sent = log.locator(".msg.agent", has_text="Here is the guide")
    expect(sent).to_be_visible(timeout=LIVE)
    file_link = sent.locator("a.file", has_text="guide.pdf")
    expect(file_link).to_be_visible()
    assert downloaded(customer, file_link.click) == GUIDE
    detail = api(stack, "GET", f"/api/agent/conversations/{cid}")
    assert [a["content_type"] for m in detail["transcript"] for a in m["attachments"]] == ["image/png",
                                                                                           "application/pdf"]


def test_a_widget_on_another_origin_uploads_through_cors(stack: Stack, browser: Any) -> None:
    page = browser.new_context().new_page()
    page.goto(stack.other_origins["allowed"])
    widget = open_widget(page, "Shop support")
    widget.locator("input[type=file]").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"order 1234 arrived broken"})
    expect(widget.locator(".tray")).to_contain_text("notes.txt")
    widget.get_by_label("Your message").fill("How do I reset my password?")
    widget.get_by_role("button", name="Send").click()
    expect(widget.get_by_role("log").locator(".msg.bot:not(.greeting)")).to_be_visible(timeout=FIRST_ANSWER)
    detail = api(stack, "GET", f"/api/agent/conversations/{conversation_id(page)}")
    [listed] = detail["transcript"][0]["attachments"]
    assert (listed["filename"], listed["content_type"]) == ("notes.txt", "text/plain")
