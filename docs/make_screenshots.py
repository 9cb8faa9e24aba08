"""Retake the README's screenshots (docs/*.png): the widget and the console at desktop and phone width, the
widget of a signed-in customer answered from the demo shop, the console with a draft under review, and
analytics of the demo's history (the demo plays it at start, so a fresh demo is all this needs). Tests never
write here: their screenshots go to artifacts/screenshots/.

    bash scripts/demo &
    python docs/make_screenshots.py --url http://127.0.0.1:8000

Signs in to the console as the demo's admin with Chromium (CHROMIUM, default Debian's /usr/bin/chromium).
A widget picture is taken only once the answer is whole: typed out, the typing line gone, the Yes/No
question under it.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, sync_playwright

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HERE = Path(__file__).parent
FIRST_ANSWER = 90_000  # ms: the server loads its embedding model on the first question
LIVE = 20_000
DESKTOP = {"viewport": {"width": 1440, "height": 900}}
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


def sign_in(page: Page, url: str, password: str) -> None:
    page.goto(f"{url}/console")
    form = page.get_by_role("form", name="Sign in")
    form.get_by_label("Username").fill("admin")
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Sign in").click()
    page.locator("#live.live").wait_for(timeout=LIVE)


def console_with_a_draft(page: Page) -> None:
    """The first waiting draft from the history, opened with the passage it rests on."""
    page.locator("#queue button", has_text="prorate").first.click()
    page.get_by_role("heading", name="Bot draft awaiting review").wait_for()
    page.wait_for_timeout(500)
    page.screenshot(path=str(HERE / "console-draft.png"))


def analytics(page: Page) -> None:
    page.get_by_role("button", name="Analytics").click()
    page.locator("#chart-days svg").wait_for()
    page.wait_for_timeout(1000)
    page.screenshot(path=str(HERE / "analytics.png"), full_page=True)
    page.get_by_role("button", name="Inbox").click()


def open_widget(page: Page, url: str) -> Locator:
    page.goto(f"{url}/demo")
    page.locator("#supportbot-widget").get_by_role("button", name="Chat with us").click()
    return page.locator("#supportbot-widget")


def ask(page: Page, text: str) -> None:
    box = page.get_by_label("Your message")
    box.fill(text)
    box.press("Enter")


def answered(widget: Locator, timeout: float = LIVE) -> None:
    """Until the newest answer is whole on screen: the Yes/No question only follows a fully typed answer."""
    widget.get_by_role("group", name="Did this answer your question?").wait_for(timeout=timeout)
    widget.locator(".revealing").wait_for(state="detached", timeout=timeout)
    widget.locator(".indicator").wait_for(state="hidden", timeout=timeout)
    widget.page.wait_for_timeout(300)  # the last scroll settles


def conversation_id(page: Page) -> str:
    """The widget's conversation, as it keeps it in localStorage."""
    for key, value in page.evaluate("() => Object.entries(localStorage)"):
        if key.startswith("supportbot:"):
            return str(json.loads(value)["conversation_id"])
    raise RuntimeError("the widget has no conversation yet")


def widget_and_console(browser: Browser, agent: Page, url: str) -> None:
    """A cited answer, a handoff the admin claims and answers (console.png), a rating, a second answer."""
    customer = browser.new_context(viewport={"width": 1280, "height": 820}).new_page()
    widget = open_widget(customer, url)
    ask(customer, "How do I reset my password?")
    answered(widget, FIRST_ANSWER)
    widget.get_by_role("button", name="Talk to a human").click()
    widget.locator(".msg.system", has_text="support team").wait_for(timeout=LIVE)

    agent.locator(f"#queue button[data-conversation='{conversation_id(customer)}']").click(timeout=LIVE)
    agent.get_by_role("button", name="Claim", exact=True).click()
    agent.locator("#claim", has_text="Claimed by you").wait_for(timeout=LIVE)
    composer = agent.get_by_label("Message")
    composer.fill("Asked about password resets; wants to check the account's email address.")
    agent.get_by_role("button", name="Add internal note").click()
    agent.locator("#transcript .note").wait_for(timeout=LIVE)
    composer.fill("Hi, Sam here. The reset link goes to the address on the account: tell me which one you "
                  "expect and I'll check it.")
    agent.get_by_role("button", name="Send reply").click()
    agent.locator("#transcript .agent", has_text="Sam here").wait_for(timeout=LIVE)
    widget.locator(".msg.agent", has_text="Sam here").wait_for(timeout=LIVE)
    agent.wait_for_timeout(500)
    agent.screenshot(path=str(HERE / "console.png"))

    agent.get_by_role("button", name="Resolve").click()
    rating = widget.get_by_role("group", name="How would you rate the help you got?")
    rating.get_by_role("button", name="Rate 5 out of 5: excellent").click(timeout=LIVE)
    widget.get_by_text("You rated us 5 out of 5").wait_for(timeout=LIVE)
    ask(customer, "How do I export my data?")
    answered(widget)
    customer.screenshot(path=str(HERE / "widget.png"))
    customer.context.close()


def widget_on_a_phone(browser: Browser, url: str) -> None:
    phone = browser.new_context(**{**PHONE, "viewport": {"width": 390, "height": 780}}).new_page()
    widget = open_widget(phone, url)
    ask(phone, "How do I export my data?")
    answered(widget)
    phone.screenshot(path=str(HERE / "widget-mobile.png"))
    phone.context.close()


def widget_signed_in(browser: Browser, url: str) -> None:
    """The page as a signed-in customer sees it: "Where is my Edge Box?" answered from the demo shop's API."""
    customer = browser.new_context(viewport={"width": 1280, "height": 820}).new_page()
    customer.goto(f"{url}/demo/signed-in")
    widget = customer.locator("#supportbot-widget")
    widget.get_by_role("button", name="Chat with us").click()
    ask(customer, "Where is my Edge Box?")
    widget.locator(".msg.bot", has_text="tracking number").wait_for(timeout=FIRST_ANSWER)
    widget.locator(".revealing").wait_for(state="detached", timeout=LIVE)
    widget.locator(".indicator").wait_for(state="hidden", timeout=LIVE)
    customer.wait_for_timeout(500)
    customer.screenshot(path=str(HERE / "widget-actions.png"))
    customer.context.close()


def console_on_a_phone(browser: Browser, url: str, password: str) -> None:
    """One conversation of the queue, as the phone layout shows it: the list is one view, the conversation another."""
    phone = browser.new_context(**PHONE).new_page()
    sign_in(phone, url, password)
    phone.locator("#queue button").first.click(timeout=LIVE)
    phone.locator("#transcript li").first.wait_for(timeout=LIVE)
    phone.wait_for_timeout(500)
    phone.screenshot(path=str(HERE / "console-mobile.png"))
    phone.context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--password", default="demo-admin-password")
    args = parser.parse_args()
    with sync_playwright() as playwright:
        chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        agent = browser.new_context(**DESKTOP).new_page()
        sign_in(agent, args.url, args.password)
        console_with_a_draft(agent)
        analytics(agent)
        widget_and_console(browser, agent, args.url)
        widget_on_a_phone(browser, args.url)
        widget_signed_in(browser, args.url)
        console_on_a_phone(browser, args.url, args.password)
        browser.close()


if __name__ == "__main__":
    main()
