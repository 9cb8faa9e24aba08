"""The sample help centre in a real embedded Chroma, with extra pages a test adds beside it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.chroma import ChromaKnowledgeBase
from knowledge.ingest import ingest_folder

SAMPLE_DOCS = Path(__file__).resolve().parents[2] / "service" / "sample_docs"


def sample_help_centre(tmp_path_factory: pytest.TempPathFactory, **extra_pages: str) -> ChromaKnowledgeBase:
    """Ingest the sample pages plus `extra_pages` (file name → text) into a fresh collection."""
    folder = tmp_path_factory.mktemp("docs")
    shutil.copytree(SAMPLE_DOCS, folder, dirs_exist_ok=True)
    for name, text in extra_pages.items():
        (folder / name).write_text(text)
    base = ChromaKnowledgeBase.persistent(str(tmp_path_factory.mktemp("chroma")))
    ingest_folder(base, folder, progress=False)
    return base
