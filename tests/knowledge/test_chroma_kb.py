"""ChromaKnowledgeBase + ingest on the sample help centre, with a real embedded Chroma and a real server."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from knowledge.answer import DEFAULT_MIN_SCORE
from knowledge.chroma import ChromaKnowledgeBase, ChunkRecord
from knowledge.documents import load_folder
from knowledge.ingest import ingest_folder
from tests.net import free_port, wait_healthy

SAMPLE_DOCS = Path(__file__).resolve().parents[2] / "service" / "sample_docs"
LATIN1_NOTE = "Caf\xe9 Cr\xe8me office: our Lyon team handles invoices for the Caf\xe9 Cr\xe8me partner programme.\n"


@pytest.fixture(scope="module")
def docs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    shutil.copytree(SAMPLE_DOCS, folder, dirs_exist_ok=True)
    (folder / "partners.txt").write_bytes(b"Partner offices\n\n" + LATIN1_NOTE.encode("latin-1"))
    return folder


@pytest.fixture(scope="module")
def kb(docs_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> ChromaKnowledgeBase:
    base = ChromaKnowledgeBase.persistent(str(tmp_path_factory.mktemp("chroma")))
    report = ingest_folder(base, docs_dir, progress=False)
    assert report.added == len(list(docs_dir.iterdir())) and report.chunks == base.count() > 0
    return base


async def test_search_finds_the_right_article(kb: ChromaKnowledgeBase) -> None:
    passages = await kb.search("I forgot my password, how can I reset it?", k=3)
    assert passages[0].title == "Resetting your password"
    assert passages[0].source == "https://help.acme.cloud/articles/reset-password"
    assert DEFAULT_MIN_SCORE < passages[0].score <= 1.0
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


async def test_off_topic_question_scores_below_answer_threshold(kb: ChromaKnowledgeBase) -> None:
    for question in ("what is the capital of Mongolia", "how do I bake sourdough bread?"):
        passages = await kb.search(question, k=4)
        assert passages and passages[0].score < DEFAULT_MIN_SCORE, (question, passages[0])


async def test_html_article_is_text_with_its_canonical_url(kb: ChromaKnowledgeBase) -> None:
    passages = await kb.search("How can I restore a deleted file from the trash?", k=2)
    top = passages[0]
    assert top.title == "Deleted items and data retention"
    assert top.source == "https://help.acme.cloud/articles/data-retention"
    assert "<" not in top.text and "analytics" not in top.text and "Help center home" not in top.text
    assert "Restore" in top.text


async def test_non_utf8_file_is_ingested_with_replacement(kb: ChromaKnowledgeBase, docs_dir: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    passages = await kb.search("Which office handles partner programme invoices?", k=2)
    assert passages[0].source == "partners.txt" and passages[0].title == "Partner offices"
    assert "\ufffd" in passages[0].text and "Lyon team handles invoices" in passages[0].text
    with caplog.at_level("WARNING"):
        load_folder(docs_dir)
    assert any("partners.txt" in r.getMessage() and "UTF-8" in r.getMessage() for r in caplog.records)


def test_chroma_never_gets_an_embedding_model(kb: ChromaKnowledgeBase) -> None:
    assert kb.chunks._embedding_function is None and kb.titles._embedding_function is None


def test_reingest_is_incremental(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("reset-password.md", "export-data.md", "contact-support.txt"):
        shutil.copy(SAMPLE_DOCS / name, folder / name)
    kb = ChromaKnowledgeBase.persistent(str(tmp_path / "chroma"))
    first = ingest_folder(kb, folder, progress=False)
    assert (first.added, first.updated, first.removed, first.unchanged) == (3, 0, 0, 0)

    article = folder / "reset-password.md"
    article.write_text(article.read_text().replace("expires after 30 minutes", "expires after 45 minutes"))
    (folder / "export-data.md").unlink()
    second = ingest_folder(kb, folder, progress=False)
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 1, 1, 1)

    stored = kb.chunks.get(include=["documents", "metadatas"])
    texts = " ".join(stored["documents"])
    assert "45 minutes" in texts and "30 minutes" not in texts
    assert {m["path"] for m in stored["metadatas"]} == {"reset-password.md", "contact-support.txt"}
    assert set(kb.hashes_by_path()) == {"reset-password.md", "contact-support.txt"}
    assert "Exporting your data" not in kb.titles.get(include=["documents"])["documents"]
    passages = kb.search_sync("How do I export my data?", k=4)
    assert all(p.title != "Exporting your data" for p in passages)

    third = ingest_folder(kb, folder, progress=False)
    assert (third.added, third.updated, third.removed, third.unchanged, third.chunks) == (0, 0, 0, 2, 0)


@pytest.mark.slow
def test_chroma_server_mode(tmp_path: Path) -> None:
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    process = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "server"), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{url}/api/v2/heartbeat", [process], timeout=30)
        folder = tmp_path / "docs"
        folder.mkdir()
        for name in ("cancel-subscription.md", "api-rate-limits.md"):
            shutil.copy(SAMPLE_DOCS / name, folder / name)
        kb = ChromaKnowledgeBase.http(url, "server_test")
        report = ingest_folder(kb, folder, progress=False)
        assert report.added == 2 and kb.count() == report.chunks
        passages = kb.search_sync("How many API requests per minute can I make on the Team plan?", k=2)
        assert passages[0].title == "API rate limits"
        assert passages[0].source == "https://help.acme.cloud/articles/api-rate-limits"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _twin_kb(path: Path, twin_penalty: float) -> ChromaKnowledgeBase:
    """Titles A and B are near twins (cosine 0.95), C stands alone; the query is a hair closer to A than C."""
    basis = np.eye(4, dtype=np.float32)
    vectors = {
        "A": basis[0],
        "B": 0.95 * basis[0] + np.sqrt(1 - 0.95 ** 2) * basis[1],
        "C": 0.5 * basis[0] - 0.3 * basis[1] + np.sqrt(0.66) * basis[2],
        "query": 0.8 * basis[0] - 0.2 * basis[1] + 0.3939 * basis[2] + np.sqrt(0.1648) * basis[3],
    }
    vectors = {k: (v / np.linalg.norm(v)).astype(np.float32) for k, v in vectors.items()}
    kb = ChromaKnowledgeBase.persistent(str(path), embedder=lambda texts: np.stack([vectors[t] for t in texts]),
                                        twin_penalty=twin_penalty)
    kb.upsert([ChunkRecord(id=t, text=f"answer {t}", embedding=vectors[t], path=t, title=t, source=t,
                           content_hash=t) for t in ("A", "B", "C")])
    return kb


def test_twin_penalty_prefers_the_topic_without_a_near_twin(tmp_path: Path) -> None:
    plain = _twin_kb(tmp_path / "plain", twin_penalty=0.0).search_sync("query", k=3)
    assert [p.title for p in plain] == ["A", "C", "B"]
    penalised = _twin_kb(tmp_path / "penalised", twin_penalty=0.1).search_sync("query", k=3)
    assert [p.title for p in penalised][0] == "C"
    assert [p.score for p in penalised] == sorted((p.score for p in penalised), reverse=True)
    with pytest.raises(ValueError):
        ChromaKnowledgeBase.persistent(str(tmp_path / "bad"), twin_penalty=-0.1)


def test_answer_blocks_are_embedded_once(tmp_path: Path) -> None:
    kb = ChromaKnowledgeBase.persistent(str(tmp_path / "chroma"))
    seen: list[str] = []

    def counting(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return np.ones((len(texts), 384), dtype=np.float32) / np.sqrt(384)

    def store(texts: list[str]) -> int:  # as ingest does: what is not stored yet, embedded and kept
        new = kb.unstored_texts(texts)
        kb.keep_text_vectors(new, counting(new))
        return len(new)

    assert store(["Open Settings > Billing.", "Click Cancel.", "Open Settings > Billing."]) == 2
    assert store(["Click Cancel.", "Confirm the cancellation."]) == 1
    assert seen == ["Open Settings > Billing.", "Click Cancel.", "Confirm the cancellation."]
    assert kb.embed_known(["Click Cancel."]).shape == (1, 384)
