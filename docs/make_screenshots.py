"""Retake the README's demo screenshots: the console with a draft under review, and analytics of the demo's
history (the demo plays it at start, so a fresh demo is all this needs).

    bash scripts/demo &
    python docs/make_screenshots.py --url http://127.0.0.1:8000

Signs in to the console as the demo's admin with Chromium (CHROMIUM, default Debian's /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HERE = Path(__file__).parent


def sign_in(page: Page, url: str, password: str) -> None:
    page.goto(f"{url}/console")
    form = page.get_by_role("form", name="Sign in")
    form.get_by_label("Username").fill("admin")
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Sign in").click()
    page.locator("#live").wait_for()


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--password", default="demo-admin-password")
    args = parser.parse_args()
    with sync_playwright() as playwright:
        chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        sign_in(page, args.url, args.password)
        console_with_a_draft(page)
        analytics(page)
        browser.close()


if __name__ == "__main__":
    main()
