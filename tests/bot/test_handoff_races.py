"""Handoffs against a real Redis when processes race: open against resolve, two copies of one reminder,
an agent before the worker."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from bot.desk import agent
from bot.types import EscalationReason, Handoff, HandoffStatus, Message, Owner, Participant, Role
from service.container import Container, build_container
from service.redis_store import RedisHandoffQueue
from service.settings import Settings
from tests.waiting import eventually
from workers.runner import CeleryTaskRunner

CUSTOMER = Participant(role=Role.CUSTOMER, id="c1")


class LaggingZadd(Redis):
    """A client whose ZADD reaches the server late, as a busy network or a paused process makes it."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        if str(args[0]).upper() == "ZADD":
            await asyncio.sleep(0.3)
        return await super().execute_command(*args, **options)


def waiting_handoff(conversation_id: str = "c-1") -> Handoff:
    return Handoff(id=f"h-{conversation_id}", conversation_id=conversation_id, channel="web",
                   reason=EscalationReason.REQUESTED, question="Can a person help?")


async def test_a_handoff_resolved_while_it_opens_does_not_stay_in_the_open_list(
        container: Container, settings: Settings, redis_url: str) -> None:
    lagging = LaggingZadd.from_url(redis_url, decode_responses=True)
    handoff = waiting_handoff()
    try:
        opening = asyncio.create_task(RedisHandoffQueue(lagging, settings.redis_prefix).open(handoff))
        await eventually(lambda: container.queue.get(handoff.id))  # stored, not yet listed as open
        await container.queue.resolve(handoff.id)
        await opening
    finally:
        await lagging.aclose()
    assert (await container.queue.get(handoff.id)).status is HandoffStatus.RESOLVED  # type: ignore[union-attr]
    assert await container.queue.open_handoffs() == []


class Reminded:
    """The agents' side of a notifier: which handoffs it was told are still unclaimed."""

    def __init__(self) -> None:
        self.unclaimed: list[str] = []

    async def handoff_opened(self, handoff: Handoff) -> None:
        pass

    async def handoff_unclaimed(self, handoff: Handoff) -> None:
        self.unclaimed.append(handoff.id)


async def test_two_copies_of_a_reminder_remind_once(container: Container, settings: Settings) -> None:
    other = build_container(settings, runner=container.runner)  # a second worker process, its own client
    agents = Reminded()
    container.escalation.notifiers.append(agents)
    other.escalation.notifiers.append(agents)
    handoff = waiting_handoff()
    await container.queue.open(handoff)
    await other.queue.get(handoff.id)  # both workers connected and ready
    try:
        await asyncio.gather(container.escalation.remind_handoff({"handoff_id": handoff.id, "n": 1}),
                             other.escalation.remind_handoff({"handoff_id": handoff.id, "n": 1}))
    finally:
        await other.close()
    assert agents.unclaimed == [handoff.id]
    assert (await container.queue.get(handoff.id)).reminders == 1  # type: ignore[union-attr]


async def test_a_reminder_that_could_not_be_sent_is_sent_by_the_retried_job(container: Container) -> None:
    class Unreachable(Reminded):
        async def handoff_unclaimed(self, handoff: Handoff) -> None:
            if not self.unclaimed:
                self.unclaimed.append("failed")
                raise ConnectionError("agents' webhook unreachable")
            await super().handoff_unclaimed(handoff)

    agents = Unreachable()
    container.escalation.notifiers.append(agents)
    handoff = waiting_handoff()
    await container.queue.open(handoff)
    try:
        await container.escalation.remind_handoff({"handoff_id": handoff.id, "n": 1})
    except ConnectionError:
        pass
    await container.escalation.remind_handoff({"handoff_id": handoff.id, "n": 1})  # the job's retry
    assert agents.unclaimed == ["failed", handoff.id]


async def test_an_agent_claims_a_handoff_the_worker_has_not_opened_yet(settings: Settings) -> None:
    """Handoff jobs go to Celery and no worker runs: the agent is quicker than the worker."""
    built = build_container(settings, runner=CeleryTaskRunner(settings))
    try:
        state = await built.dialogue.start("web", CUSTOMER)
        turn = await built.dialogue.handle(Message(conversation_id=state.id, channel="web", sender=CUSTOMER,
                                                   text="I want to talk to a human"))
        assert turn.handoff_id
        claimed = await built.desk.claim(turn.handoff_id, agent("alice"))
        assert claimed.status is HandoffStatus.CLAIMED and claimed.claimed_by == "alice"
        assert (await built.store.load(state.id)).owner is Owner.HUMAN  # type: ignore[union-attr]
    finally:
        await built.close()


def test_a_dead_workers_tasks_come_back_in_minutes() -> None:
    from workers.celery_app import make_celery

    settings = Settings(redis_url="redis://127.0.0.1:6379/0", _env_file=None)  # type: ignore[call-arg]
    options = make_celery(settings).conf.broker_transport_options
    assert options["visibility_timeout"] == settings.task_visibility_timeout <= 10 * 60


async def test_the_open_job_tells_the_agents_and_opens_only_what_the_turn_did_not(
        container: Container, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    opened: list[str] = []
    open_in_store = container.queue.open

    async def counted(handoff: Handoff) -> bool:
        opened.append(handoff.id)
        return await open_in_store(handoff)

    monkeypatch.setattr(container.queue, "open", counted)
    subscription = await container.queue.subscribe()
    try:
        turned = waiting_handoff("c-turn")
        await container.queue.open(turned)  # as a turn does before it queues the job
        await container.escalation.open_handoff({"handoff": turned.model_dump(mode="json")})
        queued_alone = waiting_handoff("c-earlier")  # a job queued by a version whose turns did not open it
        await container.escalation.open_handoff({"handoff": queued_alone.model_dump(mode="json")})
        told = [await subscription.get(timeout=5), await subscription.get(timeout=5)]
    finally:
        await subscription.close()
    assert opened == ["h-c-turn", "h-c-earlier"]  # the job opened only the one no turn had
    assert [e["handoff_id"] for e in told if e and e["type"] == "handoff"] == ["h-c-turn", "h-c-earlier"]
    assert {h.id for h in await container.queue.open_handoffs()} == {"h-c-turn", "h-c-earlier"}
