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
        if isinstance(self.connection.client, (type(None), _Detached)) and asynchronous in known:
            return dict(known[asynchronous])
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)
        known[asynchronous] = dict(params)
        return params


class Transport(redis.Transport):  # type: ignore[misc]
    Channel = Channel


class SentinelChannel(Channel, redis.SentinelChannel):  # type: ignore[misc]
    """The same behind Sentinel, where the pool is built from the sentinels the connection lists (`client.alt`):
    remembered too, so the restore asks the sentinels for the primary they promoted meanwhile."""

    def _sentinel_managed_pool(self, asynchronous: bool = False) -> Any:
        client = self.connection.client
        if client is not None:
            self.__dict__["_known_sentinels"] = list(client.alt)
            return super()._sentinel_managed_pool(asynchronous)
        self.connection.client = _Detached(self.__dict__.get("_known_sentinels", []))
        try:
            return super()._sentinel_managed_pool(asynchronous)
        finally:
            self.connection.client = None


class _Detached:
    """What the Sentinel pool reads of a detached connection: its sentinels' URLs."""

    def __init__(self, alt: list[str]) -> None:
        self.alt = alt


class SentinelTransport(redis.SentinelTransport):  # type: ignore[misc]
    Channel = SentinelChannel
