"""The widget shows a model's answer as it is written, a whole checked sentence at a time, and the stored reply
in its place at the end; an answer that fails the check mid-way is taken back with a plain line.

A real `supportbot serve` process with a language model configured by its settings (a local server speaking
Anthropic's streaming Messages API), and the real widget in Chromium.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import FIRST_ANSWER, LIVE, ask, open_widget
from tests.browser.stack import spawn, stop
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.scripted import Scripted
from tests.net import free_port, wait_healthy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIRST = "To reset your password open Settings, choose Security and click Reset password."
SECOND = "A reset link is emailed and stays valid for 30 minutes."
INVENTED = "As an apology we credit your account with 500 dollars."
PAGE = f"# Resetting your password\n\n{FIRST} {SECOND}\n"

# Every text the provisional bubble showed, in order, as the page saw it change.
WATCH_STREAM = """() => {
  const root = document.querySelector('#supportbot-widget').shadowRoot;
  const seen = window.__streamed = [];
  new MutationObserver(() => {
    const text = root.querySelector('.streaming .text');
    if (text && text.textContent && seen[seen.length - 1] !== text.textContent) seen.push(text.textContent);
  }).observe(root.querySelector('.log'), {childList: true, subtree: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeAnthropic]]:
    tmp = tmp_path_factory.mktemp("streaming")
    docs = tmp / "docs"
    docs.mkdir()
    (docs / "reset-password.md").write_text(PAGE)
    model = FakeAnthropic()
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "SUPPORTBOT_REDIS_URL"}
    env.update({"SUPPORTBOT_DATA_DIR": str(tmp / "data"), "SUPPORTBOT_AGENT_TOKEN": "streaming-agent",
                "SUPPORTBOT_LLM_MODELS": json.dumps([{"provider": "anthropic", "model": "claude-stand-in",
                                                      "base_url": model.base_url, "timeout": 30}]),
                "SUPPORTBOT_LLM_ROUTE": "always", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    log = tmp / "server.log"
    if spawn(["ingest", str(docs), "--quiet"], env, log).wait(timeout=180) != 0:
        raise RuntimeError(log.read_text(errors="replace"))
    server = spawn(["serve", "--port", str(port), "--log-level", "warning"], env, log)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", [server], timeout=60, log=log)
        yield f"http://127.0.0.1:{port}", model
    finally:
        stop(server)
        model.close()


def widget_page(browser: Any, base_url: str) -> tuple[Page, Any]:
    page = browser.new_context(viewport={"width": 1280, "height": 820}).new_page()
    page.goto(f"{base_url}/demo")
    widget = open_widget(page)
    page.evaluate(WATCH_STREAM)
    return page, widget.get_by_role("log")


def test_the_answer_appears_sentence_by_sentence_then_as_the_stored_reply(
        served: tuple[str, FakeAnthropic], browser: Any) -> None:
    base_url, model = served
    model.replies.append(Scripted(f"{FIRST[:-1]} [1]. {SECOND[:-1]} [1].", word_delay=0.15))
    page, log = widget_page(browser, base_url)
    ask(page, "How do I reset my password?")
    expect(log.locator(".msg.bot.streaming .text")).to_have_text(FIRST, timeout=FIRST_ANSWER)
    expect(log.locator(".msg.bot:not(.greeting):not(.streaming) .text")).to_have_text(f"{FIRST} {SECOND}",
                                                                                      timeout=LIVE)
    expect(log.locator(".streaming")).to_have_count(0)
    # whole sentences only, never a word of one the check had not passed yet
    assert page.evaluate("window.__streamed") == [FIRST, f"{FIRST} {SECOND}"]


def test_an_answer_failing_the_check_mid_way_is_withdrawn_with_a_plain_line(
        served: tuple[str, FakeAnthropic], browser: Any) -> None:
    base_url, model = served
    model.replies.append(Scripted(f"{FIRST[:-1]} [1]. {INVENTED[:-1]} [1]. {SECOND[:-1]} [1].", word_delay=0.15))
    page, log = widget_page(browser, base_url)
    ask(page, "How do I reset my password?")
    expect(log.locator(".msg.system.withdrawn")).to_have_text(
        "That answer was withdrawn before it was finished. A member of our support team will check it.",
        timeout=FIRST_ANSWER)
    expect(log.locator(".streaming")).to_have_count(0)
    assert page.evaluate("window.__streamed") == [FIRST]
    expect(log).not_to_contain_text("500 dollars")
