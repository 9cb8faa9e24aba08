"""An agent sees a conversation's action calls in the console and runs one again: a second `supportbot serve`
beside the browser stack (same Redis, data and worker) with the demo's actions file, the demo shop as a
process, and a customer signed in by the company's token."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from playwright.sync_api import expect

from tests.browser.helpers import LIVE, sign_in
from tests.browser.stack import ROOT, Stack, spawn, stop
from tests.browser.test_accessibility import assert_accessible
from tests.net import free_port, wait_healthy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DEMO = ROOT / "service" / "demo"
SECRET = "browser-site-signing-secret-0123456789"
SHOP_TOKEN = "browser-shop-token"


@pytest.fixture(scope="module")
def with_actions(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from service.demo import train_categorizer

    tmp = tmp_path_factory.mktemp("actions-stack")
    shop_port, port = free_port(), free_port()
    shop_log = tmp / "shop.log"
    with shop_log.open("wb") as log:
        shop = subprocess.Popen([sys.executable, str(DEMO / "shop.py"), "--port", str(shop_port)], cwd=ROOT,
                                env={**stack.env, "SHOP_API_TOKEN": SHOP_TOKEN}, stdout=log,
                                stderr=subprocess.STDOUT)
    actions = tmp / "actions.yml"
    actions.write_text((DEMO / "actions.yml").read_text().replace("127.0.0.1:8765", f"127.0.0.1:{shop_port}"))
    model = train_categorizer(DEMO / "categories.yml", tmp / "categories.model", actions)
    env = {**stack.env, "SHOP_API_TOKEN": SHOP_TOKEN, "SUPPORTBOT_ACTIONS_FILE": str(actions),
           "SUPPORTBOT_CATEGORIES_FILE": str(DEMO / "categories.yml"), "SUPPORTBOT_CATEGORIZER_ARTIFACT": str(model),
           "SUPPORTBOT_IDENTITY_JWT_SECRET": SECRET, "SUPPORTBOT_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    logs = {"server": tmp / "server.log", "shop": shop_log}
    server = spawn(["serve", "--port", str(port), "--log-level", "warning"], env, logs["server"])
    try:
        wait_healthy(f"http://127.0.0.1:{shop_port}/health", [shop], timeout=30, log=shop_log)
        wait_healthy(f"http://127.0.0.1:{port}/healthz", [server], timeout=60, log=logs["server"])
        yield dataclasses.replace(stack, base_url=f"http://127.0.0.1:{port}", logs=logs, processes=[server])
    finally:
        stop(server)
        shop.terminate()
        shop.wait(timeout=10)


def post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, method="POST", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=90) as response:
        return json.loads(response.read() or b"null")


def test_an_agent_sees_the_call_and_runs_it_again(with_actions: Stack, browser: Any) -> None:
    base = with_actions.base_url
    token = jwt.encode({"sub": "demo-customer", "exp": time.time() + 600}, SECRET, algorithm="HS256")
    started = post(f"{base}/api/conversations", {"identity_token": token})
    cid, customer = started["conversation_id"], {"X-Conversation-Token": started["token"]}
    assert post(f"{base}/api/conversations/{cid}/messages", {"text": "Where is my Edge Box?"},
                customer)["decision"] == "answered"
    post(f"{base}/api/conversations/{cid}/messages", {"text": "I want to talk to a human"}, customer)

    agent = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    sign_in(agent, with_actions, "alice")
    agent.locator(f"#queue button[data-conversation='{cid}']").click()
    panel = agent.locator("#action-calls")
    panel.get_by_text("Action calls (1)").click()
    call = panel.locator("li.call")
    expect(call).to_have_count(1, timeout=LIVE)
    expect(call).to_contain_text("list_orders")
    expect(call).to_contain_text("ok \u00b7 HTTP 200")
    expect(call).to_contain_text("Inputs: customer_id = demo-customer")
    expect(call).to_contain_text("has shipped with DHL")
    assert_accessible(agent, "a conversation's action calls, open")

    panel.get_by_role("button", name="Run list_orders again").click()
    expect(panel.get_by_text("Action calls (2)")).to_be_visible(timeout=LIVE)
    expect(panel.locator("li.call").first).to_contain_text("run again by Alice")
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/conversations/{cid}/messages",
                                                       headers=customer), timeout=30) as response:
        seen = json.loads(response.read())["messages"]
    assert sum("has shipped with DHL" in m["text"] for m in seen) == 1  # the rerun went to the agent only
