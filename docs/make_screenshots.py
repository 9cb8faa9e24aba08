"""Regenerate the README's analytics screenshot from a demo with some traffic.

    SUPPORTBOT_ADMIN_PASSWORD=demo-admin-password SUPPORTBOT_AGENT_TOKEN=demo-agent-token supportbot demo &
    python docs/make_screenshots.py --url http://127.0.0.1:8000

Drives the public APIs only (widget and agent API), then signs in to the console with Debian's Chromium.
"""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

IN_SCOPE = ["How do I reset my password?", "How long do refunds take?", "Can I export my data?",
            "What are the API rate limits?", "How do I turn on two-factor authentication?",
            "How do I cancel my subscription?", "When is support open?"]
OUT_OF_SCOPE = ["Can you recommend a lasagna recipe?", "Do you sell gift cards in Peru?",
                "My invoice shows a strange charge from last year"]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def traffic(url: str, token: str, conversations: int) -> None:
    agent = {"Authorization": f"Bearer {token}", "X-Agent": "alice"}
    rng = random.Random(7)
    with httpx.Client(base_url=url, timeout=60) as client:
        for i in range(conversations):
            created = client.post("/api/conversations", json={}).json()
            cid, headers = created["conversation_id"], {"X-Conversation-Token": created["token"]}
            text = rng.choice(OUT_OF_SCOPE if i % 4 == 3 else IN_SCOPE)
            turn = client.post(f"/api/conversations/{cid}/messages", headers=headers, json={"text": text}).json()
            feedback = f"/api/conversations/{cid}/feedback"
            if turn["decision"] == "answered":
                client.post(feedback, headers=headers, json={"resolved": rng.random() < 0.8})
                continue
            detail = client.get(f"/api/agent/conversations/{cid}", headers=agent).json()
            if detail["handoff"] and i % 2:
                client.post(f"/api/agent/handoffs/{detail['handoff']['id']}/claim", headers=agent)
                client.post(f"/api/agent/conversations/{cid}/reply", headers=agent,
                            json={"text": "Thanks for asking, I'll look into it for you."})
                client.post(feedback, headers=headers, json={"rating": rng.choice([4, 5, 5, 3])})


def screenshot(url: str, password: str, target: Path) -> None:
    with sync_playwright() as playwright:
        chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        page.goto(f"{url}/console")
        form = page.get_by_role("form", name="Sign in")
        form.get_by_label("Username").fill("admin")
        form.get_by_label("Password").fill(password)
        form.get_by_role("button", name="Sign in").click()
        page.locator("#live").wait_for()
        page.get_by_role("button", name="Analytics").click()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(target), full_page=True)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", default="demo-agent-token")
    parser.add_argument("--password", default="demo-admin-password")
    parser.add_argument("--conversations", type=int, default=40)
    args = parser.parse_args()
    traffic(args.url, args.token, args.conversations)
    screenshot(args.url, args.password, Path(__file__).with_name("analytics.png"))


if __name__ == "__main__":
    main()
