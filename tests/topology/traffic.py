"""Customers as the widget behaves: each from its own address, a live WebSocket that reconnects from the last
message it saw, every message sent with its own id and sent again (same id) until the API accepts it, a wait
for the answer; afterwards the stored histories and the agents' queue are checked against what was sent."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

from bot.dialogue import handoff_id_for

QUESTIONS = ["How do I reset my password?", "How can I export my data?", "How do I cancel my subscription?",
             "How do I turn on two-factor authentication?", "What are the API rate limits?",
             "How long does shipping take?", "Can I get a refund?", "How long do you keep my data?"]
ESCALATE = "I want to talk to a person, please"
RETRYABLE = {429, 502, 503, 504}
SEND_DEADLINE = 120.0   # the widget keeps a message and sends it again until it is accepted
REPLY_WAIT = 60.0       # how long a customer watches the conversation for the answer


@dataclass
class Sent:
    id: str
    text: str
    accepted: bool = False
    attempts: int = 0
    decision: str | None = None
    duplicate: bool = False   # the API said it had this id already (a resend after a failure)
    accepted_at: float = 0.0  # time.monotonic()


@dataclass
class Visit:
    """One conversation, as its customer saw it."""

    conversation_id: str
    token: str
    sent: list[Sent] = field(default_factory=list)
    live: dict[int, dict[str, Any]] = field(default_factory=dict)  # seq -> message received on the socket
    live_repeats: int = 0
    reconnects: int = 0
    escalated: bool = False


class Customer:
    """One visitor at one address; starts conversations one after another until told to stop."""

    def __init__(self, base: str, address: str, rng: random.Random) -> None:
        self.base, self.address, self.rng = base, address, rng
        self.ws_base = base.replace("http://", "ws://")
        self.client = httpx.AsyncClient(base_url=base, timeout=70,
                                        transport=httpx.AsyncHTTPTransport(local_address=address))
        self.visits: list[Visit] = []
        self.errors: list[str] = []

    async def close(self) -> None:
        await self.client.aclose()

    async def _post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None,
                    sent: Sent | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + SEND_DEADLINE
        while True:
            if sent is not None:
                sent.attempts += 1
            try:
                response = await self.client.post(path, json=body, headers=headers)
                if response.status_code in (201, 202):
                    return dict(response.json())
                if response.status_code not in RETRYABLE:
                    raise AssertionError(f"POST {path}: {response.status_code} {response.text}")
                pause = float(response.headers.get("retry-after", 1))
            except httpx.TransportError:
                pause = 1.0
            if time.monotonic() > deadline:
                raise TimeoutError(f"POST {path} not accepted within {SEND_DEADLINE} s")
            await asyncio.sleep(min(pause, 2.0))

    async def _follow(self, visit: Visit, closing: asyncio.Event) -> None:
        """The widget's live connection: on any drop, reconnect asking for what came after the last message."""
        while not closing.is_set():
            after = max(visit.live, default=0)
            url = f"{self.ws_base}/api/conversations/{visit.conversation_id}/live?token={visit.token}&after={after}"
            try:
                async with websockets.connect(url, local_addr=(self.address, 0), open_timeout=10,
                                              ping_interval=5, ping_timeout=10) as socket:
                    async for raw in socket:
                        event = json.loads(raw)
                        if event.get("type") == "message":
                            if event["seq"] in visit.live:
                                visit.live_repeats += 1
                            visit.live[event["seq"]] = event
            except (TimeoutError, OSError, websockets.exceptions.WebSocketException):
                pass
            if not closing.is_set():
                visit.reconnects += 1
                await asyncio.sleep(0.5)

    async def _reply_to(self, visit: Visit, message_id: str) -> dict[str, Any] | None:
        """The first message after ours that is not the customer's, as the socket delivered it."""
        deadline = time.monotonic() + REPLY_WAIT
        while time.monotonic() < deadline:
            ours = next((seq for seq, m in visit.live.items() if m["id"] == message_id), None)
            if ours is not None:
                later = sorted(seq for seq, m in visit.live.items() if seq > ours and m["role"] != "customer")
                if later:
                    return visit.live[later[0]]
            await asyncio.sleep(0.1)
        return None

    async def converse(self, questions: int, escalate: bool) -> Visit:
        created = await self._post("/api/conversations", {})
        visit = Visit(created["conversation_id"], created["token"])
        self.visits.append(visit)
        closing = asyncio.Event()
        follower = asyncio.create_task(self._follow(visit, closing))
        try:
            texts = self.rng.sample(QUESTIONS, questions) + ([ESCALATE] if escalate else [])
            for text in texts:
                sent = Sent(uuid.uuid4().hex, text)
                visit.sent.append(sent)
                result = await self._post(f"/api/conversations/{visit.conversation_id}/messages",
                                          {"id": sent.id, "text": text}, {"X-Conversation-Token": visit.token}, sent)
                sent.accepted, sent.decision = True, result.get("decision")
                sent.duplicate, sent.accepted_at = bool(result.get("duplicate")), time.monotonic()
                reply = await self._reply_to(visit, sent.id)
                if sent.decision in ("escalated", "drafted") or (reply is not None and reply["role"] == "system"):
                    visit.escalated = True
                    break
                if reply is None and sent.decision is None:
                    break  # neither an answer nor a decision: the conversation is stuck; the checks count it
        except (AssertionError, TimeoutError) as error:
            self.errors.append(f"{visit.conversation_id}: {error}")
        finally:
            await self._catch_up(visit)
            closing.set()
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
        return visit

    async def _catch_up(self, visit: Visit, wait: float = 15.0) -> None:
        """Before leaving, give the socket the time to deliver what the history holds."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            stored = await self.history(visit)
            if stored is not None and {e["seq"] for e in stored} <= set(visit.live):
                return
            await asyncio.sleep(0.3)

    async def history(self, visit: Visit) -> list[dict[str, Any]] | None:
        entries: list[dict[str, Any]] = []
        after = 0
        while True:
            try:
                response = await self.client.get(f"/api/conversations/{visit.conversation_id}/messages",
                                                 params={"after": after},
                                                 headers={"X-Conversation-Token": visit.token})
            except httpx.TransportError:
                return None
            if response.status_code != 200:
                return None
            page = response.json()
            entries += page["messages"]
            if not page["more"]:
                return entries
            after = page["last_seq"]

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.converse(self.rng.randint(1, 3), escalate=self.rng.random() < 0.5)


@dataclass
class Figures:
    conversations: int = 0
    sent: int = 0
    accepted: int = 0
    resends: int = 0
    not_accepted: int = 0
    lost: int = 0
    duplicated: int = 0
    unanswered: int = 0
    not_delivered_live: int = 0
    repeated_live: int = 0
    socket_reconnects: int = 0
    escalations: int = 0
    handoffs: int = 0
    duplicate_handoffs: int = 0
    missing_handoffs: int = 0
    examples: list[str] = field(default_factory=list)

    def failures(self) -> dict[str, int]:
        names = ("not_accepted", "lost", "duplicated", "unanswered", "not_delivered_live", "repeated_live",
                 "duplicate_handoffs", "missing_handoffs")
        return {n: getattr(self, n) for n in names if getattr(self, n)}


def _replies_after(history: list[dict[str, Any]], index: int) -> list[dict[str, Any]]:
    replies = []
    for entry in history[index + 1:]:
        if entry["role"] == "customer":
            break
        replies.append(entry)
    return replies


async def account(customers: list[Customer], open_handoffs: list[dict[str, Any]], started: float) -> Figures:
    """Compare what every customer sent and saw with what the store holds and what agents are shown
    (`started`: the run's start on time.monotonic(), for the times in the examples)."""
    figures = Figures()
    handoffs_by_conversation = Counter(h["conversation_id"] for h in open_handoffs)
    handoff_ids = {h["id"] for h in open_handoffs}
    figures.handoffs = len(open_handoffs)
    for customer in customers:
        for visit in customer.visits:
            figures.conversations += 1
            history = await customer.history(visit)
            assert history is not None, f"history of {visit.conversation_id} unreadable after the run"
            stored_ids = Counter(e["id"] for e in history)
            escalated = False
            for sent in visit.sent:
                figures.sent += 1
                figures.resends += max(0, sent.attempts - 1)
                if not sent.accepted:
                    figures.not_accepted += 1
                    continue
                figures.accepted += 1
                if stored_ids[sent.id] == 0:
                    figures.lost += 1
                    figures.examples.append(f"lost {visit.conversation_id}/{sent.id}")
                    continue
                figures.duplicated += stored_ids[sent.id] - 1
                index = next(i for i, e in enumerate(history) if e["id"] == sent.id)
                replies = _replies_after(history, index)
                drafted = handoff_id_for(visit.conversation_id, sent.id) in handoff_ids
                if len(replies) > 1:
                    figures.duplicated += len(replies) - 1
                    figures.examples.append(f"{len(replies)} replies to {visit.conversation_id}/{sent.id}")
                if not replies and not drafted:
                    figures.unanswered += 1
                    figures.examples.append(
                        f"unanswered {visit.conversation_id}/{sent.id}: {sent.attempts} attempt(s), accepted "
                        f"{'as a duplicate' if sent.duplicate else 'with decision ' + str(sent.decision)} "
                        f"at {sent.accepted_at - started:.1f} s")
                if drafted or any(r["role"] == "system" for r in replies):
                    escalated = True
            seen = set(visit.live)
            figures.not_delivered_live += sum(1 for e in history if e["seq"] not in seen)
            figures.repeated_live += visit.live_repeats
            figures.socket_reconnects += visit.reconnects
            if escalated:
                figures.escalations += 1
                count = handoffs_by_conversation[visit.conversation_id]
                if count == 0:
                    figures.missing_handoffs += 1
                    figures.examples.append(f"no handoff for {visit.conversation_id}")
                figures.duplicate_handoffs += max(0, count - 1)
    return figures
