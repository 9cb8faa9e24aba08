"""Keys that must share a Redis Cluster slot carry one hash tag.

A cluster runs a Lua script or a MULTI/EXEC only when every key it names hashes to one slot; Redis hashes only
the part of a key between its first `{` and the next `}` when there is one. Every key of a conversation carries
`{conversation id}`, so its scripts stay on its shard; keys shared across conversations that change together
(the handoff queue, the phase overrides) carry one fixed tag each. On a single server or behind Sentinel the
keys keep their names without tags, so existing deployments keep their data.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio.cluster import RedisCluster


def clustered(redis: Any) -> bool:
    """Whether `redis` is a cluster client: keys then carry hash tags and pub/sub is sharded."""
    return isinstance(redis, RedisCluster)


def tag(text: str, cluster: bool) -> str:
    """`text` as a hash tag on a cluster, as itself elsewhere."""
    return f"{{{text}}}" if cluster else text
