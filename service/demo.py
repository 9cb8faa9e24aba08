"""The demo's first sight: categories in each phase, and a history of conversations played through the same
code paths as live traffic (dialogue manager, agent desk, customer feedback), so drafts waiting for review,
the phase report and analytics show real things the moment the demo starts."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from bot.types import Decision, HandoffStatus, Message, Participant, Role

if TYPE_CHECKING:
    from connectors.console.accounts import Accounts
    from service.container import Container
    from service.settings import Settings

log = logging.getLogger(__name__)

DEMO_CATEGORIES = Path(__file__).parent / "demo" / "categories.yml"
DEMO_ACTIONS = Path(__file__).parent / "demo" / "actions.yml"
DEMO_SHOP = Path(__file__).parent / "demo" / "shop.py"
DEMO_SHOP_PORT = 8765  # as service/demo/actions.yml calls it
DEMO_MODEL = "demo-categories.model"  # in the data folder: the demo's categorizer, trained at its start
COLLEAGUE = ("priya", "Priya Shah")  # the agent who worked the history; the visitor signs in as `admin`


def train_categorizer(categories_file: Path, out: Path, actions_file: Path | None = None) -> Path:
    """Train the categorizer from the categories file's own `examples` (and `out_of_scope` lines), and the
    actions file's: an action is a category the categorizer routes to."""
    from connectors.actions.catalog import load_catalog
    from knowledge.classifier import TrainedCategorizer

    data = yaml.safe_load(categories_file.read_text(encoding="utf-8"))
    examples = [(text, c["name"]) for c in data["categories"] for text in c.get("examples", [])]
    if actions_file is not None:
        examples += [(text, name) for name, spec in load_catalog(actions_file).actions.items()
                     for text in spec.examples]
    examples += [(text, "oos") for text in data.get("out_of_scope", [])]
    out.parent.mkdir(parents=True, exist_ok=True)
    TrainedCategorizer.train(examples, oos_label="oos").save(out)
    return out


@dataclass(frozen=True)
class Visit:
    """One scripted customer: what they ask, and what the people on the other side do with it."""

    question: str
    then: str = "confirm"  # confirm | leave | approve | edit | reject | answer | wait
    rating: int | None = None
    agent_text: str = ""


HISTORY = [
    Visit("How do I reset my password?", "confirm"),
    Visit("My password reset email never arrived", "confirm"),
    Visit("How do I turn on two-factor authentication?", "confirm"),
    Visit("Can I export all my project data?", "confirm"),
    Visit("What are the API rate limits?", "leave"),
    Visit("How long do you keep my data after I delete my account?", "confirm"),
    Visit("I lost my phone with the authenticator app, how do I sign in?", "leave"),
    Visit("How long do refunds take to appear on my card?", "approve", rating=5),
    Visit("How do I cancel my subscription?", "approve", rating=4),
    Visit("How do I request a refund?", "approve"),
    Visit("Who can change our plan?", "edit", rating=5,
          agent_text="The account owner and billing admins can: Settings > Billing > Plan. If you are not sure who "
                     "that is on your team, I can look it up for you."),
    Visit("Can I reactivate a cancelled subscription?", "reject", rating=4,
          agent_text="This customer's workspace is already past the 30 days"),
    Visit("I was charged twice this month", "answer", rating=4,
          agent_text="I can see the second charge; it is refunded and will appear within 5 business days."),
    Visit("Do you prorate when I change plans?", "wait"),
    Visit("What happens to my data when I cancel?", "wait"),
    Visit("Where is my Edge Box? I ordered it last week", "answer", rating=5,
          agent_text="It left our Rotterdam warehouse yesterday; the tracking link is in your order email."),
    Visit("Do you ship hardware to Canada?", "answer", rating=4,
          agent_text="We do, from our Dallas warehouse, usually within 5 business days."),
    Visit("My package is stuck in customs", "wait"),
    Visit("Can you recommend a lasagna recipe?", "leave"),
]


async def _handoff_opened(container: Container, handoff_id: str) -> None:
    """The handoff job runs beside the turn; the desk acts once the queue has it."""
    for _ in range(500):
        if await container.queue.get(handoff_id) is not None:
            return
        await asyncio.sleep(0.01)
    raise RuntimeError(f"demo history: handoff {handoff_id} never reached the queue")


async def _play(container: Container, visit: Visit, number: int, agent: Participant) -> str:
    dialogue, desk = container.dialogue, container.desk
    customer = Participant(role=Role.CUSTOMER, id=f"demo-visitor-{number}", name="")
    state = await dialogue.start("web", customer)
    turn = await dialogue.handle(Message(conversation_id=state.id, channel="web", sender=customer,
                                         text=visit.question))
    decision = turn.outcome.decision if turn.outcome else None
    if decision is Decision.ANSWERED:
        if visit.then == "confirm":
            await dialogue.record_feedback(state.id, resolved=True)
        return "answered"
    if turn.handoff_id is None:
        return "no reply"
    await _handoff_opened(container, turn.handoff_id)
    if visit.then == "wait":
        return "waiting"
    if decision is Decision.DRAFTED and visit.then in ("approve", "edit"):
        await desk.claim(turn.handoff_id, agent)
        await desk.approve(state.id, agent, visit.agent_text if visit.then == "edit" else None)
    else:
        if decision is Decision.DRAFTED:
            await desk.reject(state.id, agent, visit.agent_text or "not what was asked")
        else:
            await desk.claim(turn.handoff_id, agent)
        handoff = await container.queue.get(turn.handoff_id)
        if handoff is not None and handoff.status is not HandoffStatus.RESOLVED:
            await desk.reply(state.id, agent, visit.agent_text or "Thanks for waiting, I've sorted this out.")
            await desk.resolve(state.id, agent)
    if visit.rating:
        await dialogue.record_feedback(state.id, rating=visit.rating)
    return "handled by a person"


async def seed_history(container: Container, accounts: Accounts) -> dict[str, int]:
    """Play HISTORY once per store (a marker key keeps a restarted Redis-backed demo from doubling it)."""
    settings = container.settings
    if not await container.redis.set(f"{settings.redis_prefix}:demo:seeded", "1", nx=True):
        return {}
    username, name = COLLEAGUE
    account = await accounts.get(username) or await accounts.add(username, secrets.token_urlsafe(18),
                                                                 display_name=name)
    agent = account.participant()
    played: dict[str, int] = {}
    for number, visit in enumerate(HISTORY, 1):
        outcome = await _play(container, visit, number, agent)
        played[outcome] = played.get(outcome, 0) + 1
    log.info("demo history: %s", ", ".join(f"{n} {what}" for what, n in played.items()))
    return played


def demo_environment() -> None:
    """What `supportbot demo` sets unless the environment says otherwise (`ask --demo` reads the same)."""
    os.environ.setdefault("SUPPORTBOT_API_DOCS", "true")  # a visitor may explore the API
    os.environ.setdefault("SUPPORTBOT_DEMO_HISTORY", "true")  # drafts, reports and analytics from the start
    os.environ.setdefault("SUPPORTBOT_LOG_FORMAT", "text")  # someone reads these in a terminal


def demo_settings(settings: Settings) -> None:
    """The demo's categories and actions (the categorizer trained from their examples into the data folder)
    unless others are set, and the demo's own signing key for the page's "Sign in" link."""
    if settings.categories_file is None:
        settings.categories_file = DEMO_CATEGORIES
    if settings.actions_file is None and settings.categories_file == DEMO_CATEGORIES:
        settings.actions_file = DEMO_ACTIONS
        os.environ.setdefault("SHOP_API_TOKEN", secrets.token_urlsafe(24))  # what the stand-in shop requires
        settings.identity_jwt_secret = settings.identity_jwt_secret or secrets.token_urlsafe(32)
        settings.demo_customer = settings.demo_customer or "demo-customer"
    if settings.categorizer_artifact is None and settings.categories_file == DEMO_CATEGORIES:
        settings.categorizer_artifact = train_categorizer(DEMO_CATEGORIES, settings.data_dir / DEMO_MODEL,
                                                          settings.actions_file)


def _dies_with_parent() -> None:
    """In the shop's process before it starts: the kernel ends it when the demo ends, however the demo ends
    (a killed demo would otherwise leave its shop holding the port)."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextmanager
def demo_shop(settings: Settings) -> Iterator[subprocess.Popen[bytes] | None]:
    """The stand-in shop whose API the demo's actions call (service/demo/shop.py), beside the demo's server
    for as long as it runs; where its port is taken, the demo goes on and those actions hand off."""
    if settings.actions_file != DEMO_ACTIONS:
        yield None
        return
    try:
        process = subprocess.Popen([sys.executable, str(DEMO_SHOP), "--port", str(DEMO_SHOP_PORT)],
                                   env={**os.environ, "SHOP_API_TOKEN": os.environ["SHOP_API_TOKEN"]},
                                   preexec_fn=_dies_with_parent if sys.platform == "linux" else None)
    except OSError as error:
        log.warning("the demo shop did not start (%s): order questions go to people", error)
        yield None
        return
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
