"""Support mailboxes read over IMAP from a real Dovecot, replies out over SMTP to the smarthost sink."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from email import policy
from pathlib import Path

import pytest

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from connectors.email.channel import EmailChannel
from connectors.email.convert import conversation_id_for
from connectors.email.cursor import UidCursor
from connectors.email.imap import ImapWatcher, connect
from connectors.email.intake import MailIntake, Outcome
from connectors.email.mailboxes import ImapMailbox
from service.container import Container, build_container
from service.settings import Settings
from tests.browser.stack import spawn
from tests.connectors.email.conftest import CUSTOMER, SUPPORT, Sink, mail
from tests.dovecot import Dovecot, dovecot_server
from tests.waiting import eventually, wait_for


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with dovecot_server() as server:
        server.create_folder("Sent")
        yield server


def mailbox_of(server: Dovecot, **overrides: object) -> ImapMailbox:
    fields: dict[str, object] = {"host": "127.0.0.1", "port": server.port, "username": server.username,
                                 "password": server.password, "tls": "none", "sent_folder": "Sent",
                                 "poll_seconds": 3600, "idle_seconds": 600}
    fields.update(overrides)
    return ImapMailbox.model_validate(fields)


@pytest.fixture
async def imap_container(settings: Settings, sink: Sink, dovecot: Dovecot) -> AsyncIterator[Container]:
    channel = EmailChannel("127.0.0.1", sink.port, SUPPORT, mailboxes=[mailbox_of(dovecot)])
    container = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                answerer=FirstSentenceAnswerer(), channels={"email": channel})
    yield container
    await container.runner.drain()  # type: ignore[attr-defined]
    await container.close()


class Running:
    """Watchers started by a test, stopped at its end."""

    def __init__(self) -> None:
        self.tasks: list[tuple[ImapWatcher, asyncio.Task[None]]] = []

    def start(self, watcher: ImapWatcher) -> asyncio.Task[None]:
        task = asyncio.create_task(watcher.run())
        self.tasks.append((watcher, task))
        return task

    async def stop(self) -> None:
        for watcher, _ in self.tasks:
            watcher.stop.set()
        await asyncio.gather(*(task for _, task in self.tasks), return_exceptions=True)


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    watchers = Running()
    yield watchers
    await watchers.stop()


def watcher_for(container: Container, server: Dovecot, intake: MailIntake | None = None,
                **overrides: object) -> ImapWatcher:
    box = mailbox_of(server, **overrides)
    return ImapWatcher(box, intake or MailIntake(container),
                       UidCursor(container.redis, container.settings.redis_prefix, box.key),
                       backoff_base=0.2, backoff_ceiling=1.0)


def question(n: int, text: str = "How do I reset my password?") -> bytes:
    return mail(f"Question {n}", text, message_id=f"<imap-{n}@example.test>").as_bytes(policy=policy.SMTP)


def replies_to(sink: Sink) -> Callable[[], list[str]]:
    return lambda: [str(r.mail["In-Reply-To"]) for r in sink.to(CUSTOMER)]


async def test_mail_in_the_mailbox_is_answered_in_its_thread_then_marked_seen_and_copied_to_sent(
        imap_container: Container, dovecot: Dovecot, sink: Sink, running: Running) -> None:
    dovecot.append(question(1))  # waiting before the watcher starts
    watcher = watcher_for(imap_container, dovecot)
    running.start(watcher)
    [reply] = await eventually(lambda: sink.to(CUSTOMER))
    assert reply.mail["In-Reply-To"] == "<imap-1@example.test>" and reply.mail["Subject"] == "Re: Question 1"
    assert "open Settings, choose Security" in reply.body
    assert "\\Seen" in (await eventually(lambda: dovecot.flags()["<imap-1@example.test>"]))
    sent = await eventually(lambda: dovecot.flags("Sent"))
    assert list(sent) == [reply.mail["Message-ID"]]

    # IDLE wakes the watcher: it is not polling (poll_seconds is an hour) and IDLE lasts ten minutes
    dovecot.append(mail("Re: Question 1", "Can annual plans be refunded?", message_id="<imap-2@example.test>",
                        references=["<imap-1@example.test>", reply.mail["Message-ID"]],
                        in_reply_to=reply.mail["Message-ID"]).as_bytes(policy=policy.SMTP))
    second = (await eventually(lambda: sink.to(CUSTOMER)[1:]))[0]
    assert second.mail["In-Reply-To"] == "<imap-2@example.test>"
    assert second.mail["References"].split() == ["<imap-1@example.test>", reply.mail["Message-ID"],
                                                 "<imap-2@example.test>"]
    state = await imap_container.store.load(conversation_id_for("<imap-1@example.test>"))
    assert state is not None and len(await imap_container.store.history(state.id)) == 4
    assert watcher.connections == 1


class Crash(BaseException):
    """The process dies: nothing after this point of the handling runs."""


class CrashingIntake(MailIntake):
    """Handles `survive` mails completely, then dies after handling the next one, before it is marked."""

    def __init__(self, container: Container, survive: int) -> None:
        super().__init__(container)
        self.left = survive

    async def receive(self, raw: bytes, **kwargs: object) -> Outcome:  # type: ignore[override]
        outcome = await super().receive(raw, **kwargs)  # type: ignore[arg-type]
        if self.left == 0:
            raise Crash()
        self.left -= 1
        return outcome


async def test_a_restart_in_the_middle_of_a_batch_answers_each_mail_exactly_once(
        imap_container: Container, dovecot: Dovecot, sink: Sink, running: Running) -> None:
    for n in range(6):
        dovecot.append(question(n))
    first = running.start(watcher_for(imap_container, dovecot, CrashingIntake(imap_container, survive=2)))
    with pytest.raises(Crash):
        await first
    await imap_container.runner.drain()  # type: ignore[attr-defined]
    assert sorted(replies_to(sink)()) == [f"<imap-{n}@example.test>" for n in range(3)]
    flags = dovecot.flags()
    assert [n for n in range(6) if "\\Seen" in flags[f"<imap-{n}@example.test>"]] == [0, 1]  # 2: not marked

    running.start(watcher_for(imap_container, dovecot))  # the restarted process
    await eventually(lambda: all("\\Seen" in f for f in dovecot.flags().values()))
    await imap_container.runner.drain()  # type: ignore[attr-defined]
    assert sorted(replies_to(sink)()) == [f"<imap-{n}@example.test>" for n in range(6)]


async def test_the_watcher_reconnects_when_the_server_goes_away(
        imap_container: Container, dovecot: Dovecot, sink: Sink, running: Running) -> None:
    watcher = watcher_for(imap_container, dovecot)
    running.start(watcher)
    await eventually(lambda: watcher.connections == 1)
    await asyncio.to_thread(dovecot.stop)  # every connection dropped; connecting fails for a while
    await asyncio.sleep(0.5)
    await asyncio.to_thread(dovecot.start)
    dovecot.append(question(7))
    [reply] = await eventually(lambda: sink.to(CUSTOMER), timeout=30)
    assert reply.mail["In-Reply-To"] == "<imap-7@example.test>"
    assert watcher.connections >= 2


async def test_a_malformed_message_is_flagged_and_kept_and_the_next_is_answered(
        imap_container: Container, dovecot: Dovecot, sink: Sink, running: Running,
        caplog: pytest.LogCaptureFixture) -> None:
    dovecot.append(b"Subject: no sender at all\r\nMessage-ID: <broken@example.test>\r\n\r\n\xff\xfe garbage\r\n")
    dovecot.append(question(8))
    running.start(watcher_for(imap_container, dovecot))
    [reply] = await eventually(lambda: sink.to(CUSTOMER))
    assert reply.mail["In-Reply-To"] == "<imap-8@example.test>"
    flags = dovecot.flags()
    assert "\\Flagged" in flags["<broken@example.test>"] and "\\Seen" in flags["<broken@example.test>"]
    assert "\\Flagged" not in flags["<imap-8@example.test>"]
    assert any("cannot be answered" in r.getMessage() for r in caplog.records)


async def test_handled_mail_can_be_moved_to_a_folder_instead(
        imap_container: Container, dovecot: Dovecot, sink: Sink, running: Running) -> None:
    dovecot.create_folder("Handled")
    dovecot.append(question(9))
    running.start(watcher_for(imap_container, dovecot, move_to="Handled"))
    await eventually(lambda: sink.to(CUSTOMER))
    assert await eventually(lambda: list(dovecot.flags("Handled")) == ["<imap-9@example.test>"])
    assert dovecot.flags() == {}


async def test_without_idle_the_mailbox_is_polled(imap_container: Container, dovecot: Dovecot, sink: Sink,
                                                  running: Running) -> None:
    watcher = watcher_for(imap_container, dovecot, poll_seconds=0.5)
    watcher.use_idle = False
    running.start(watcher)
    await eventually(lambda: watcher.connections == 1)
    dovecot.append(question(10))
    [reply] = await eventually(lambda: sink.to(CUSTOMER))
    assert reply.mail["In-Reply-To"] == "<imap-10@example.test>"


def test_supportbot_email_answers_a_mailbox_with_no_smtp_server_of_ours(dovecot: Dovecot, sink: Sink,
                                                                        tmp_path: Path) -> None:
    """The command as deployed: IMAP only (no SMTP listener), settings from the environment."""
    box = mailbox_of(dovecot).model_dump(mode="json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env.update({"SUPPORTBOT_IMAP_MAILBOXES": json.dumps([box]), "SUPPORTBOT_EMAIL_SMTP_LISTENER": "false",
                "SUPPORTBOT_SMTP_HOST": "127.0.0.1", "SUPPORTBOT_SMTP_PORT": str(sink.port),
                "SUPPORTBOT_SMTP_FROM": f"Acme Support <{SUPPORT}>", "SUPPORTBOT_DATA_DIR": str(tmp_path),
                "SUPPORTBOT_OFF_TOPIC": "escalate", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    dovecot.append(question(11, "Is the moon made of cheese?"))
    log = tmp_path / "email.log"
    process = spawn(["email"], env, log)
    try:
        [reply] = wait_for(lambda: sink.to(CUSTOMER), timeout=120, what="the reply mail")
        assert reply.mail["In-Reply-To"] == "<imap-11@example.test>", log.read_text()
        assert reply.mail["From"].addresses[0].addr_spec == SUPPORT
        wait_for(lambda: "\\Seen" in dovecot.flags()["<imap-11@example.test>"], what="the mail marked seen")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()


async def test_a_mailbox_over_imaps_is_read_when_its_certificate_is_trusted(settings: Settings, sink: Sink,
                                                                            running: Running) -> None:
    with dovecot_server(tls=True) as server:
        assert server.ca_file is not None
        box = mailbox_of(server, tls="ssl", ca_file=str(server.ca_file), sent_folder=None)
        with pytest.raises(ssl.SSLCertVerificationError):  # the system's CAs do not vouch for it
            connect(box.model_copy(update={"ca_file": None}))
        container = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                    answerer=FirstSentenceAnswerer(),
                                    channels={"email": EmailChannel("127.0.0.1", sink.port, SUPPORT)})
        try:
            server.append(question(12))
            running.start(ImapWatcher(box, MailIntake(container),
                                      UidCursor(container.redis, settings.redis_prefix, box.key)))
            [reply] = await eventually(lambda: sink.to(CUSTOMER))
            assert reply.mail["In-Reply-To"] == "<imap-12@example.test>"
            await running.stop()
        finally:
            await container.runner.drain()  # type: ignore[attr-defined]
            await container.close()
