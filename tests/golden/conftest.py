"""One ingest of the sample help centre per test session, and the bot built on it once per configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from service.container import Container, build_container
from service.settings import Settings
from tests.golden.harness import demo_phase_settings, ingested_settings


@pytest.fixture(scope="session")
def golden_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """No categories file: everything is `general`, in phase `full`, so every case shows what the bot says."""
    return ingested_settings(Path(tmp_path_factory.mktemp("golden")))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def golden_bot(golden_settings: Settings) -> AsyncIterator[Container]:
    container = build_container(golden_settings)
    yield container
    await container.runner.drain()  # type: ignore[attr-defined]
    await container.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def demo_bot(golden_settings: Settings) -> AsyncIterator[Container]:
    """The same pages behind the demo's categories and phases."""
    container = build_container(demo_phase_settings(golden_settings))
    yield container
    await container.runner.drain()  # type: ignore[attr-defined]
    await container.close()
