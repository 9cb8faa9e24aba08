"""The demo starts with categories in every phase and a history played through the real code paths, so a
first visit shows drafts waiting, the phase report and analytics with figures (not an empty console)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.runner import InlineTaskRunner
from service.asgi import create_app
from service.cli import SAMPLE_DOCS
from service.container import build_container, build_knowledge
from service.demo import COLLEAGUE, DEMO_CATEGORIES, HISTORY, demo_settings
from service.settings import Settings

TOKEN = {"Authorization": "Bearer agent-secret"}


@pytest.fixture
def demo(settings: Settings) -> Iterator[tuple[Settings, Any]]:
    from knowledge.ingest import ingest_folder

    settings.demo_history = True
    settings.admin_password = "admin-password"
    demo_settings(settings)
    ingest_folder(build_knowledge(settings), SAMPLE_DOCS, progress=False)
    yield settings, lambda: build_container(settings, runner=InlineTaskRunner())


def test_the_demo_starts_with_drafts_a_phase_report_and_analytics(demo: tuple[Settings, Any]) -> None:
    settings, container = demo
    assert settings.categories_file == DEMO_CATEGORIES and settings.categorizer_artifact is not None
    with TestClient(create_app(settings, container())) as client:
        queue = client.get("/api/agent/handoffs", headers=TOKEN).json()
        assert any(h["draft"] for h in queue), "a draft waits for review"
        assert {h["category"] for h in queue} >= {"billing", "shipping"}
        data = client.get("/api/agent/analytics?days=1", headers=TOKEN).json()
        phases = {(r["category"], r["phase"]) for r in data["rows"]}
        assert {("account", "full"), ("billing", "draft"), ("shipping", "categorize")} <= phases
        totals = data["totals"]
        assert totals["conversations"] == len(HISTORY)
        assert totals["answered_by_bot"] > 0 and totals["bot_resolved_confirmed"] > 0
        assert totals["drafts_unchanged"] > 0 and totals["drafts_edited"] > 0 and totals["drafts_rejected"] > 0
        assert totals["csat_responses"] > 0
        report = {r["category"]: r for r in data["phase_report"]}
        assert report["billing"]["reviewed"] == totals["drafts_unchanged"] + totals["drafts_edited"] + \
            totals["drafts_rejected"]
        conversations = client.get("/api/agent/conversations", headers=TOKEN).json()
        transcripts = [client.get(f"/api/agent/conversations/{c['id']}", headers=TOKEN).json()["transcript"]
                       for c in conversations]
        joined = [m["text"] for t in transcripts for m in t if "joined" in m["text"]]
        assert joined and all(text.startswith(f"{COLLEAGUE[1]} from our support team") for text in joined)

    with TestClient(create_app(settings, container())) as client:  # a restart on the same store plays it once
        again = client.get("/api/agent/analytics?days=1", headers=TOKEN).json()
        assert again["totals"]["conversations"] == len(HISTORY)
