"""Chunk, embed and store documents; re-running only touches what changed.

Each document is identified by its path and versioned by its content hash: unchanged documents are
skipped, changed ones have their old chunks replaced, and documents that disappeared are removed.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter
from tqdm import tqdm

from knowledge.chroma import ChromaKnowledgeBase, ChunkRecord
from knowledge.documents import Document, load_folder
from knowledge.embedding import embed

log = logging.getLogger(__name__)

CHUNK_SIZE = 800
CHUNK_OVERLAP = 100
_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3")]


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    not_modified: int = 0  # of the unchanged: web pages the server answered 304 for (nothing downloaded)
    chunks: int = 0
    seconds: float = 0.0  # the work, without the encoder's one-off load (`encoder_load_seconds`)
    encoder_load_seconds: float = 0.0

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "seconds": round(self.seconds, 2),
                "encoder_load_seconds": round(self.encoder_load_seconds, 2),
                "chunks_per_second": round(self.chunks_per_second, 1)}


SECTION_TEXT_LIMIT = 12_000  # characters of the enclosing section kept with each chunk


@dataclass(frozen=True)
class Chunk:
    text: str
    section: str
    index: int
    section_text: str = ""

    def embedded_text(self, title: str) -> str:
        """Title and section go in front of the text so a short chunk still says what it is about."""
        heading = title if not self.section or self.section == title else f"{title} — {self.section}"
        return f"{heading}\n\n{self.text}"


class Chunker:
    """Markdown sections first (so chunks do not straddle headings), then ~800-character pieces."""

    def __init__(self, chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP) -> None:
        self.sections = MarkdownHeaderTextSplitter(_HEADERS, strip_headers=True)
        self.pieces = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)

    def split(self, document: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        for section in self.sections.split_text(document.text):
            names = [section.metadata[key] for _, key in _HEADERS if key in section.metadata]
            names = [n for n in names if n != document.title]
            heading = " › ".join(names)
            # the splitter marks a blank line between paragraphs as "  \n"; keep them as paragraphs
            whole = re.sub(r"[ \t]{2}\n", "\n\n", section.page_content).strip()[:SECTION_TEXT_LIMIT]
            for piece in self.pieces.split_text(section.page_content):
                if piece.strip():
                    chunks.append(Chunk(text=piece.strip(), section=heading, index=len(chunks), section_text=whole))
        return chunks


def ingest_documents(
    kb: ChromaKnowledgeBase,
    documents: Iterable[Document],
    *,
    prune: bool = True,
    keep: Iterable[str] = (),
    progress: bool = True,
    chunker: Chunker | None = None,
    embedder: Callable[[list[str]], np.ndarray] = embed,
    title_prefix: bool = True,
    batch_chunks: int = 256,
    warm_up: Callable[[], object] | None = None,
) -> IngestReport:
    """Bring `kb` in line with `documents`; with `prune`, stored paths not among them are deleted.

    Chunks of many documents go to the encoder together (`batch_chunks` at a time, whatever the files'
    sizes), so the encoder works on full batches rather than one small file after another. `warm_up` loads the
    encoder when there is something to embed; its time is reported apart, so the pace is the work's own.
    """
    started = time.perf_counter()
    chunker = chunker or Chunker()
    documents = list(documents)
    stored = kb.hashes_by_path()
    pages = kb.pages_by_path() if any(d.page for d in documents) else {}
    report = IngestReport()
    todo: list[Document] = []
    seen: set[str] = set()
    for document in documents:
        if document.path in seen:
            raise ValueError(f"duplicate document path: {document.path}")
        seen.add(document.path)
        previous = stored.get(document.path)
        if previous == document.content_hash:
            report.unchanged += 1
            if document.page is not None and pages.get(document.path) != document.page:
                kb.set_page(document.path, document.page)  # a server that ignored our validators
        else:
            todo.append(document)
    if todo and warm_up is not None:
        loading = time.perf_counter()
        warm_up()
        report.encoder_load_seconds = time.perf_counter() - loading
    bar = tqdm(total=len(todo), desc="ingest", unit="doc", disable=not progress or not todo)
    for batch in _batches(todo, chunker, batch_chunks):
        records, blocks, block_vectors = _embed_batch(kb, batch, embedder, title_prefix)
        for document, _ in batch:
            if document.path in stored:
                kb.delete_where_path(document.path)
                report.updated += 1
            else:
                report.added += 1
        kb.upsert(records)
        kb.keep_text_vectors(blocks, block_vectors)
        report.chunks += len(records)
        bar.update(len(batch))
    bar.close()
    if prune:
        for path in sorted(set(stored) - seen - set(keep)):
            kb.delete_where_path(path)
            report.removed += 1
    if report.updated or report.removed:
        kb.prune_titles()
    report.seconds = time.perf_counter() - started - report.encoder_load_seconds
    log.info("ingest: %s", report.as_dict())
    return report


def _batches(documents: Sequence[Document], chunker: Chunker,
             batch_chunks: int) -> Iterator[list[tuple[Document, list[Chunk]]]]:
    """Consecutive groups of documents, split into chunks, holding about `batch_chunks` chunks each."""
    batch: list[tuple[Document, list[Chunk]]] = []
    size = 0
    for document in documents:
        batch.append((document, chunker.split(document)))
        size += len(batch[-1][1])
        if size >= batch_chunks:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _embed_batch(kb: ChromaKnowledgeBase, split: Sequence[tuple[Document, list[Chunk]]],
                 embedder: Callable[[list[str]], np.ndarray],
                 title_prefix: bool) -> tuple[list[ChunkRecord], list[str], np.ndarray]:
    """One encoder call for a whole batch of documents (much faster than one call per document): their chunks
    and the blocks the answer composer will score, so answering reads vectors. Blocks already stored (an
    unchanged section of an updated page, boilerplate shared by pages) are not embedded again.

    Returns the chunks' records, and the new blocks with their vectors."""
    inputs = [c.embedded_text(d.title) if title_prefix else c.text for d, chunks in split for c in chunks]
    blocks = kb.unstored_texts(composer_blocks(c for _, chunks in split for c in chunks))
    texts = inputs + blocks
    vectors = embedder(texts) if texts else np.zeros((0, 384), dtype=np.float32)
    records: list[ChunkRecord] = []
    row = 0
    for document, chunks in split:
        for chunk in chunks:
            records.append(ChunkRecord(
                id=f"{document.path}::{document.content_hash[:12]}::{chunk.index}", text=chunk.text,
                embedding=vectors[row], path=document.path, title=document.title, source=document.source,
                content_hash=document.content_hash, section=chunk.section, index=chunk.index,
                section_text=chunk.section_text, page=document.page))
            row += 1
    return records, blocks, vectors[len(inputs):]


def composer_blocks(chunks: Iterable[Chunk]) -> list[str]:
    """The blocks the answer composer scores in these chunks' sections, once each: ingest embeds them, so
    answering reads vectors."""
    from knowledge.answer import scoring_texts

    sections = dict.fromkeys((c.section_text, c.section) for c in chunks if c.section_text)
    return list(dict.fromkeys(t for text, name in sections for t in scoring_texts(text, name)))


def ingest_folder(kb: ChromaKnowledgeBase, folder: str | Path, *, progress: bool = True,
                  **options: object) -> IngestReport:
    """Ingest every supported file under `folder`; files that vanished from it are removed."""
    unreadable: list[str] = []  # their earlier version stays: a damaged copy must not erase an article
    documents = load_folder(folder, unreadable=unreadable)
    websites = [p for p in kb.hashes_by_path() if p.startswith(("http://", "https://"))]
    return ingest_documents(kb, documents, progress=progress, keep=[*unreadable, *websites],
                            **options)  # type: ignore[arg-type]


def ingest_site(kb: ChromaKnowledgeBase, url: str, *, progress: bool = True,
                embedder: Callable[[list[str]], np.ndarray] = embed, warm_up: Callable[[], object] | None = None,
                **limits: int | float) -> IngestReport:
    """Ingest a help-centre website from its sitemap or start page; pages of that site no longer found are
    removed (404, 410, or now refused by robots.txt), everything else in the index is left alone. A page that
    failed to load for now (network, 5xx) keeps its earlier version, and so does a page the server says has
    not changed since it was stored (304 to the stored ETag / Last-Modified): it is neither downloaded nor
    embedded again."""
    from knowledge.web import crawl, other_sites, site_of

    site = site_of(url)
    hashes = kb.hashes_by_path()
    stored = {path: (hashes[path], page) for path, page in kb.pages_by_path().items() if site_of(path) == site}
    job = crawl(url, stored, **limits)
    keep = other_sites(hashes, site) + job.unavailable + job.not_modified
    report = ingest_documents(kb, job.documents, progress=progress, keep=keep, embedder=embedder, warm_up=warm_up)
    report.not_modified = len(job.not_modified)
    report.unchanged += report.not_modified
    return report
