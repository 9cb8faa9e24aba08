"""A first visit to the console logs nothing in the browser: no failed request, no missing favicon."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import LIVE, sign_in
from tests.browser.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_sign_in_page_and_signing_in_log_no_errors(stack: Stack, browser: Any) -> None:
    page = browser.new_context().new_page()
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: failed.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.goto(f"{stack.base_url}/console")
    expect(page.get_by_role("form", name="Sign in")).to_be_visible(timeout=LIVE)
    sign_in(page, stack, "alice")
    page.goto(f"{stack.base_url}/demo")
    page.wait_for_load_state("networkidle")
    assert failed == []
