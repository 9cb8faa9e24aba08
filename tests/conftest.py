"""Shared fixtures: a real Redis (127.0.0.1:6379 unless SUPPORTBOT_TEST_REDIS_URL), isolated by key prefix."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from service.container import Container, build_container
from service.settings import Settings

REDIS_URL = os.environ.get("SUPPORTBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# The handoff flows under test start from an off-topic question ("Is the moon made of cheese?"); a deployment
# that wants people to see such questions sets this, and so do the servers and workers the tests start.
# The default (a built-in reply, no handoff) is covered by tests/bot/test_small_talk.py.
os.environ.setdefault("SUPPORTBOT_OFF_TOPIC", "escalate")


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError as error:  # a missing Redis is a broken machine, not a reason to skip
        raise RuntimeError(f"tests need a Redis server at {REDIS_URL}: {error}") from error
    return REDIS_URL


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def settings(redis_url: str, prefix: str, tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(redis_url=redis_url, redis_prefix=prefix, data_dir=tmp_path, agent_token="agent-secret",
                    minutes_per_handoff=2, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    runner = InlineTaskRunner()
    built = build_container(settings, runner=runner, knowledge=sample_knowledge(),
                            answerer=FirstSentenceAnswerer())
    yield built
    await built.close()
