"""What the browser tests do again and again: sign in, ask, escalate through the API, save screenshots."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.stack import AGENTS, ROOT, Stack

XSS = '<img src=x onerror="window.__xss=1">'
FIRST_ANSWER = 90_000  # ms: the server loads the embedding model on its first question
LIVE = 20_000


def sign_in(page: Page, stack: Stack, username: str) -> None:
    page.goto(f"{stack.base_url}/console")
    form = page.get_by_role("form", name="Sign in")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Password").fill(AGENTS[username][2])
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("#live")).to_have_text("Live", timeout=LIVE)


def open_widget(page: Page, title: str = "Acme support") -> Any:
    """Click the launcher: its accessible name starts with the words it shows."""
    page.get_by_role("button", name=re.compile(rf"^Chat with us \({re.escape(title)}\)")).click()
    return page.locator("#supportbot-widget")


def reloaded_widget(page: Page) -> Any:
    """After a reload the panel is open again when it was open before, with its history."""
    page.reload()
    widget = page.locator("#supportbot-widget")
    expect(widget.get_by_role("dialog")).to_be_visible(timeout=LIVE)
    return widget


def ask(page: Page, text: str) -> None:
    box = page.get_by_label("Your message")
    box.fill(text)
    box.press("Enter")


def api(stack: Stack, method: str, path: str, body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None) -> Any:
    """The agent API as automation uses it: the bearer token, no cookies."""
    request = urllib.request.Request(f"{stack.base_url}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {stack.agent_token}", "X-Agent": "alice",
                                              "Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def wait_for_handoff(stack: Stack, conversation_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """The worker queues the handoff shortly after the acknowledgement the customer sees."""
    deadline = time.monotonic() + timeout
    while True:
        detail = api(stack, "GET", f"/api/agent/conversations/{conversation_id}")
        if detail["handoff"] is not None:
            return dict(detail["handoff"])
        if time.monotonic() > deadline:
            raise AssertionError(f"no handoff for {conversation_id} after {timeout} s")
        time.sleep(0.2)


def conversation_id(page: Page) -> str:
    """The widget's conversation, as it keeps it in localStorage."""
    return str(page.evaluate("""() => { for (const k of Object.keys(localStorage))
        if (k.startsWith('supportbot:')) return JSON.parse(localStorage.getItem(k)).conversation_id; }"""))


def handed_to_alice(stack: Stack, page: Page, widget: Any, reply: str) -> str:
    """The customer asks for a person in the widget; Alice claims the handoff and replies."""
    widget.get_by_role("button", name="Talk to a human").click()
    expect(widget.get_by_role("log").locator(".msg.system", has_text="support team")).to_be_visible(
        timeout=FIRST_ANSWER)
    cid = conversation_id(page)
    handoff = wait_for_handoff(stack, cid)
    api(stack, "POST", f"/api/agent/handoffs/{handoff['id']}/claim")
    api(stack, "POST", f"/api/agent/conversations/{cid}/reply", {"text": reply})
    return cid


def save_screenshot(page: Page, name: str, **options: Any) -> None:
    """Into artifacts/ (git-ignored) for this run; docs/make_screenshots.py alone retakes the README's ones."""
    target = ROOT / "artifacts" / "screenshots" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), **options)
