"""`supportbot email`: the process that receives mail, an SMTP listener and a watcher per IMAP mailbox on one
event loop. It lives in the composition root because it builds the container the connectors are handed."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterable

from bot.runner import InlineTaskRunner
from connectors.email.convert import CHANNEL
from connectors.email.cursor import UidCursor
from connectors.email.imap import ImapWatcher
from connectors.email.inbound import DATA_SIZE_LIMIT, InboundHandler, InboundServer
from connectors.email.intake import MailIntake
from service.container import build_container
from service.settings import Settings


async def serve(settings: Settings, host: str, port: int, *, recipients: Iterable[str] = (),
                data_size_limit: int = DATA_SIZE_LIMIT) -> None:
    """Run until SIGINT/SIGTERM: the SMTP listener (unless turned off) and a watcher per IMAP mailbox. The
    container is built here so its Redis client belongs to this loop."""
    container = build_container(settings)  # inside the loop that will use its Redis client
    if CHANNEL not in container.delivery.channels:
        await container.close()
        raise SystemExit("supportbot: SUPPORTBOT_SMTP_HOST is required: replies are sent through it")
    server = None
    if settings.email_smtp_listener:
        server = await InboundServer(InboundHandler(container, recipients=recipients), host, port,
                                     data_size_limit=data_size_limit).start()
        print(f"supportbot: inbound SMTP on {host}:{server.port}", flush=True)
    intake = MailIntake(container)
    watchers = [ImapWatcher(mailbox, intake, UidCursor(container.redis, settings.redis_prefix, mailbox.key))
                for mailbox in settings.imap_mailboxes]
    tasks = [asyncio.create_task(w.run()) for w in watchers]
    for watcher in watchers:
        print(f"supportbot: reading {watcher.mailbox.name} over IMAP", flush=True)
    print(f"supportbot: replies via {settings.smtp_host}:{settings.smtp_port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for watcher in watchers:
            watcher.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            await server.close()
        if isinstance(container.runner, InlineTaskRunner):
            await container.runner.drain()  # replies already due still go out
        await container.close()


def run(settings: Settings, host: str | None = None, port: int | None = None) -> int:
    """`supportbot email`: the inbound SMTP server and IMAP watchers as their own process (arguments
    override settings)."""
    if not settings.email_smtp_listener and not settings.imap_mailboxes:
        raise SystemExit("supportbot: nothing to read: set SUPPORTBOT_IMAP_MAILBOXES or enable the SMTP listener")
    asyncio.run(serve(settings, host or settings.email_host, port or settings.email_port,
                      recipients=settings.email_recipients, data_size_limit=settings.email_max_bytes))
    return 0
