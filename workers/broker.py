"""Celery's Redis transport, made to survive a Redis restart while the worker holds unacknowledged tasks.

kombu 5.7 with celery 5.7: after a lost connection the consumer first `collect()`s the connection, which
detaches the transport from it (`transport.client = None`), then closes it; closing the channel restores the
unacknowledged messages (every reserved ETA task: a handoff's reminder), and building a Redis client for that
reads the detached `client.hostname` and raises AttributeError. celery treats that as unrecoverable and the
worker exits. Here each channel remembers the connection parameters it last built, so the restore reaches
the (restarted) server, or fails with a connection error that kombu already tolerates: the messages stay in
the unacked index and come back after the visibility timeout.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):  # type: ignore[misc]
    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        known: dict[bool, dict[str, Any]] = self.__dict__.setdefault("_known_connparams", {})
        if self.connection.client is None and asynchronous in known:
            return dict(known[asynchronous])
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)
        known[asynchronous] = dict(params)
        return params


class Transport(redis.Transport):  # type: ignore[misc]
    Channel = Channel
