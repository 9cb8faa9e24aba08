"""A serving process sets the heap it loaded aside from the garbage collector once warmed up; an app built
inside another process (a test, a tool) leaves that process's collector alone."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.asgi import create_app
from service.heap import YOUNG_THRESHOLD
from service.settings import Settings


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_a_serving_process_freezes_its_warmed_heap_and_collects_young_objects_less_often(
        tmp_path: Path, collector: None) -> None:
    assert gc.get_freeze_count() == 0
    with TestClient(create_app(Settings(data_dir=tmp_path), serving_process=True)):
        deadline = time.monotonic() + 120
        while gc.get_freeze_count() == 0 and time.monotonic() < deadline:  # after the warm-up, in the background
            time.sleep(0.1)
        assert gc.get_freeze_count() > 10_000  # the libraries, the encoder, the knowledge base
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD


def test_an_app_built_inside_another_process_leaves_its_collector_alone(tmp_path: Path, collector: None) -> None:
    threshold = gc.get_threshold()
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        assert client.get("/healthz").status_code == 200
        time.sleep(1)
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == threshold
