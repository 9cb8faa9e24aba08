"""The knowledge base on Chroma: chunk storage, incremental-ingest helpers and title-aware search.

Embeddings are always computed by `knowledge.embedding` and handed to Chroma, so Chroma never loads
(or downloads) an embedding model of its own.

Title-aware scoring: customers phrase questions like article titles, so a chunk's score blends the
query's similarity to the article title with its similarity to the chunk text
(`title_weight * sim(title) + (1 - title_weight) * sim(chunk)`). With `group_by_title`, articles that
share a title (several answers to one FAQ, or one article split into files) are scored together: each
article's best chunk score is replaced by the mean over the group, so a topic backed by all of its
articles outranks a single stray chunk that happens to match a few words.

Near-twin penalty (`twin_penalty`): a topic whose title sits very close to another stored title (two
threads about almost the same thing) attracts questions meant for either, so its score is lowered by
`twin_penalty * (nearest-other-title similarity - mean of that over the candidate topics)`; a hubness
correction in the spirit of CSLS. Centring keeps scores on the usual scale for answer thresholds.

Lexical evidence (`lexical_weight`, BM25 via `knowledge.search_index.LexicalIndex`): a chunk gains at most
`lexical_weight`, scaled by the share of the query's attainable BM25 score it reaches and by how clearly BM25
singles out one topic. A name or code that one topic holds settles what the encoder cannot; words that many
topics share add little, so they no longer override a closer paraphrase.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings

from bot.ports import Passage
from knowledge.documents import PageState
from knowledge.embedding import cached_embed, encode_async, steer
from knowledge.search_index import LexicalScores, SearchIndex, text_id
from knowledge.text import elliptical

Embedder = Callable[[list[str]], np.ndarray]

_BATCH = 1000
# Bumped when what a chunk stores changes (2: the enclosing section's text), so re-ingest rewrites old chunks.
LAYOUT = 2
# Collection metadata key holding a fresh token after every write: processes sharing one Chroma compare it
# with the token their in-memory search index was loaded at.
VERSION_KEY = "supportbot_version"


def _settings() -> Settings:
    return Settings(anonymized_telemetry=False)


def title_id(title: str) -> str:
    return hashlib.sha1(title.encode("utf-8")).hexdigest()


@dataclass
class ChunkRecord:
    """One stored chunk: `text` is shown to customers, `embedding` was computed from title/section + text."""

    id: str
    text: str
    embedding: np.ndarray
    path: str
    title: str
    source: str
    content_hash: str
    section: str = ""
    index: int = 0
    section_text: str = ""
    page: PageState | None = None  # a web page's validators and links, kept on its first chunk

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"path": self.path, "title": self.title, "source": self.source,
                                "content_hash": self.content_hash, "section": self.section, "chunk": self.index,
                                "section_text": self.section_text, "layout": LAYOUT}
        if self.page is not None and self.index == 0:
            meta |= _page_metadata(self.page)
        return meta


def _page_metadata(page: PageState) -> dict[str, str]:
    return {"etag": page.etag, "last_modified": page.last_modified, "links": "\n".join(page.links)}


class ChromaKnowledgeBase:
    """`KnowledgeBase` backed by a Chroma collection (embedded or server), cosine space."""

    def __init__(
        self,
        client: Any,
        collection_name: str = "helpcenter",
        *,
        embedder: Embedder = cached_embed,
        title_weight: float = 0.25,
        group_by_title: bool = True,
        candidates: int = 50,
        title_candidates: int = 10,
        twin_penalty: float = 0.1,
        context_weight: float = 0.25,
        follow_up_boost: float = 2.0,
        lexical_weight: float = 0.2,
        lexical_candidates: int = 20,
        version_check_seconds: float = 0.0,
    ) -> None:
        if not 0.0 <= title_weight <= 1.0:
            raise ValueError("title_weight must be within 0..1")
        if not 0.0 <= twin_penalty <= 1.0:
            raise ValueError("twin_penalty must be within 0..1")
        self.client = client
        self.collection_name = collection_name
        self.embedder = embedder
        self.title_weight = title_weight
        self.group_by_title = group_by_title
        self.candidates = candidates
        self.title_candidates = title_candidates
        self.twin_penalty = twin_penalty
        self.context_weight = context_weight
        self.follow_up_boost = follow_up_boost
        self.lexical_weight = lexical_weight
        self.lexical_candidates = lexical_candidates
        self._index: SearchIndex | None = None
        # how long a search trusts the loaded index without asking Chroma for the version token: one
        # request per search costs more than the rest of the search, and a server asks it over HTTP
        self.version_check_seconds = version_check_seconds
        self._checked_at = float("-inf")
        self._index_lock = threading.Lock()
        cosine = {"hnsw": {"space": "cosine"}}
        # embedding_function=None: vectors always come from us, Chroma must not fetch its default model
        self.chunks = client.get_or_create_collection(
            collection_name, configuration=cosine, embedding_function=None)
        self.titles = client.get_or_create_collection(
            f"{collection_name}__titles", configuration=cosine, embedding_function=None)
        # vectors of the texts the answer composer scores (blocks of sections), computed at ingest
        self.texts = client.get_or_create_collection(
            f"{collection_name}__texts", configuration=cosine, embedding_function=None)

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def persistent(cls, path: str, collection_name: str = "helpcenter", **options: Any) -> "ChromaKnowledgeBase":
        """Embedded Chroma storing its files under `path`."""
        client = chromadb.PersistentClient(path=str(path), settings=_settings())
        return cls(client, collection_name, **options)

    @classmethod
    def http(cls, url: str, collection_name: str = "helpcenter", **options: Any) -> "ChromaKnowledgeBase":
        """A Chroma server (`chroma run`) at a URL such as http://127.0.0.1:8000."""
        parsed = urlparse(url if "://" in url else f"http://{url}")
        ssl = parsed.scheme == "https"
        port = parsed.port or (443 if ssl else 8000)
        client = chromadb.HttpClient(host=parsed.hostname or "127.0.0.1", port=port, ssl=ssl,
                                     settings=_settings())
        return cls(client, collection_name, **options)

    # -- writing (used by ingest) -----------------------------------------------------------------

    def count(self) -> int:
        return self.chunks.count()

    def upsert(self, records: Sequence[ChunkRecord]) -> None:
        """Store chunks and make sure each of their titles has a title vector."""
        if not records:
            return
        for start in range(0, len(records), _BATCH):
            batch = records[start:start + _BATCH]
            self.chunks.upsert(
                ids=[r.id for r in batch],
                documents=[r.text for r in batch],
                embeddings=np.stack([r.embedding for r in batch]).astype(np.float32),
                metadatas=[r.metadata() for r in batch],
            )
        self._add_titles({r.title for r in records})
        self._changed()

    def unstored_texts(self, texts: Sequence[str]) -> list[str]:
        """The help-centre texts answers are composed from (never customers' words), once each, whose vectors
        are not stored yet: what an ingest still has to embed. An unchanged section of an updated page, or
        boilerplate shared by pages, is embedded once."""
        wanted = {text_id(t): t for t in texts}
        present: set[str] = set()
        ids = list(wanted)
        for start in range(0, len(ids), _BATCH):
            present |= set(self.texts.get(ids=ids[start:start + _BATCH], include=[])["ids"])
        return [t for i, t in wanted.items() if i not in present]

    def keep_text_vectors(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors computed for help-centre texts (row i is texts[i])."""
        for start in range(0, len(texts), _BATCH):
            self.texts.upsert(ids=[text_id(t) for t in texts[start:start + _BATCH]],
                              embeddings=np.asarray(vectors[start:start + _BATCH], dtype=np.float32))
        if len(texts):
            self._changed()

    def embed_known(self, texts: list[str]) -> np.ndarray:
        """Vectors for `texts`: those stored at ingest come from the in-memory index (no request), the rest
        (the customer's own words) are computed and not stored."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        index = self.index()
        missing = self._unknown(index, texts)
        return self._with_known(index, texts, dict(zip(missing, self.embedder(missing))) if missing else {})

    async def embed_known_async(self, texts: list[str]) -> np.ndarray:
        """`embed_known` on an event loop: the customer's words wait for the encoder's own thread."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        index = await self._index_async()
        missing = self._unknown(index, texts)
        computed = dict(zip(missing, await encode_async(self.embedder, missing))) if missing else {}
        return self._with_known(index, texts, computed)

    @staticmethod
    def _unknown(index: SearchIndex, texts: list[str]) -> list[str]:
        return list(dict.fromkeys(t for t in texts if index.row_of_text(t) is None))

    @staticmethod
    def _with_known(index: SearchIndex, texts: list[str], computed: dict[str, np.ndarray]) -> np.ndarray:
        rows = [index.row_of_text(t) for t in texts]
        return np.stack([index.text_vectors[row] if row is not None else computed[t] for t, row in zip(texts, rows)])

    def delete_where_path(self, path: str) -> None:
        self.chunks.delete(where={"path": path})
        self._changed()

    def hashes_by_path(self) -> dict[str, str]:
        """Path → content hash of what is stored now (drives incremental re-ingest)."""
        return {m["path"]: m["content_hash"] if m.get("layout") == LAYOUT else "" for m in self._all_metadatas()}

    def pages_by_path(self) -> dict[str, PageState]:
        """Path → validators and links of the web pages stored now (drives conditional re-crawls)."""
        return {m["path"]: PageState(m["etag"], m.get("last_modified") or "",
                                     tuple(filter(None, (m.get("links") or "").split("\n"))))
                for m in self._all_metadatas() if m.get("layout") == LAYOUT and "etag" in m}

    def set_page(self, path: str, page: PageState) -> None:
        """New validators for a stored page whose content did not change (its passages stay as they are)."""
        first = self.chunks.get(where={"$and": [{"path": path}, {"chunk": 0}]}, include=[])["ids"]
        if first:
            self.chunks.update(ids=first[:1], metadatas=[_page_metadata(page)])

    def prune_titles(self) -> int:
        """Drop title vectors no chunk refers to any more; returns how many were dropped."""
        used = {title_id(m["title"]) for m in self._all_metadatas()}
        stored = set(self.titles.get(include=[])["ids"])
        stale = sorted(stored - used)
        if stale:
            self.titles.delete(ids=stale)
            self._changed()
        return len(stale)

    def _all_metadatas(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            got = self.chunks.get(include=["metadatas"], limit=_BATCH * 5, offset=offset)
            metas = got["metadatas"] or []
            out.extend(metas)
            if len(metas) < _BATCH * 5:
                return out
            offset += len(metas)

    def _add_titles(self, titles: set[str]) -> None:
        if not titles:
            return
        wanted = {title_id(t): t for t in titles}
        present = set(self.titles.get(ids=list(wanted), include=[])["ids"])
        missing = [(tid, t) for tid, t in wanted.items() if tid not in present]
        if missing:
            vectors = self.embedder([t for _, t in missing])
            self.titles.upsert(ids=[tid for tid, _ in missing], embeddings=vectors,
                               documents=[t for _, t in missing], metadatas=[{"title": t} for _, t in missing])

    # -- reading ----------------------------------------------------------------------------------

    async def search(self, query: str, *, k: int = 4, context: Sequence[str] = (),
                     reply_passages: Sequence[str] = ()) -> list[Passage]:
        """Best passages first; `score` is a cosine similarity clipped to 0..1. On the event loop: the
        question waits for the encoder's thread without a thread of its own, and ranking is a few matrix
        products over the loaded index (the index itself is checked and loaded in a thread)."""
        if not query.strip() or k <= 0:
            return []
        index = await self._index_async()
        if not len(index):
            return []
        texts, stand_in = self._query_texts(query, context, reply_passages, index)
        vectors = await encode_async(self.embedder, texts)
        return self._ranked(index, query, self._steered(query, vectors, stand_in), k)

    async def correct(self, text: str) -> str:
        """The customer's words with typos corrected towards this help centre's vocabulary."""
        index = await self._index_async()
        return index.speller.correct(text) if index.speller is not None else text

    def query_vector(self, query: str, context: Sequence[str] = (), reply_passages: Sequence[str] = (),
                     index: SearchIndex | None = None) -> np.ndarray:
        """The query's embedding steered by the earlier turns (each counts `context_weight`, times
        `follow_up_boost` when the query points back at them)."""
        texts, stand_in = self._query_texts(query, context, reply_passages, index)
        return self._steered(query, self.embedder(texts), stand_in)

    def _query_texts(self, query: str, context: Sequence[str], reply_passages: Sequence[str],
                     index: SearchIndex | None) -> tuple[list[str], np.ndarray | None]:
        """What to encode, and the vector standing for the last reply: the mean of the passages it was
        composed from, when this index holds them (its words cost the encoder five times a question's)."""
        stand_in = index.mean_vector(reply_passages) if index is not None and context and reply_passages else None
        words = context[:-1] if stand_in is not None else context
        return [query, *(c for c in words if c.strip())], stand_in

    def _steered(self, query: str, vectors: np.ndarray, stand_in: np.ndarray | None) -> np.ndarray:
        if stand_in is not None:
            vectors = np.vstack([vectors, stand_in[None, :]])
        return steer(vectors[0], vectors[1:],
                     self.context_weight * (self.follow_up_boost if elliptical(query) else 1.0))

    def version(self) -> object:
        """The token the last write left on the chunk collection (one cheap request; None before any)."""
        metadata = self.client.get_collection(self.collection_name, embedding_function=None).metadata
        return (metadata or {}).get(VERSION_KEY)

    def _recent_index(self) -> SearchIndex | None:
        """The loaded index while its version was checked less than `version_check_seconds` ago."""
        index = self._index
        if index is not None and time.monotonic() - self._checked_at < self.version_check_seconds:
            return index
        return None

    async def _index_async(self) -> SearchIndex:
        """`index()` from an event loop: the loaded one while fresh, else checked (and reloaded) in a thread."""
        index = self._recent_index()
        return index if index is not None else await asyncio.to_thread(self.index)

    def index(self) -> SearchIndex:
        """The in-memory search index of the current collection version, loaded again after any write
        (from this process or another one sharing the Chroma server)."""
        if (index := self._recent_index()) is not None:
            return index
        index = self._index
        version = self.version()
        self._checked_at = time.monotonic()
        if index is not None and index.version == version:
            return index
        with self._index_lock:
            if self._index is None or self._index.version != version:
                self._index = SearchIndex.load(version, self.chunks, self.titles, self.texts,
                                               self.lexical_weight, self.lexical_candidates)
            return self._index

    def _changed(self) -> None:
        """Leave a fresh version token, so every process's search index is reloaded before its next search."""
        metadata = {k: v for k, v in (self.chunks.metadata or {}).items() if not k.startswith("hnsw:")}
        self.chunks.modify(metadata={**metadata, VERSION_KEY: uuid.uuid4().hex})
        self._index = None

    def search_sync(self, query: str, *, k: int = 4, context: Sequence[str] = (),
                    reply_passages: Sequence[str] = ()) -> list[Passage]:
        if not query.strip() or k <= 0:
            return []
        index = self.index()
        if not len(index):
            return []
        return self._ranked(index, query, self.query_vector(query, context, reply_passages, index), k)

    def _ranked(self, index: SearchIndex, query: str, vector: np.ndarray, k: int) -> list[Passage]:
        sims = index.vectors @ vector
        pool = index.top_rows(sims, max(self.candidates, 2 * k))
        lexical = index.lexical.scores(query) if index.lexical else None
        if self.title_weight == 0.0 and not self.group_by_title:
            return self._rank(index, pool, sims[pool], {}, k, lexical=lexical)
        titles = {index.metas[i]["title"] for i in pool} | (lexical.titles if lexical else set())
        titles |= index.nearest_titles(vector, self.title_candidates)
        known = [t for t in titles if t in index.title_row]
        title_rows = np.asarray([index.title_row[t] for t in known], dtype=np.int64)
        title_sims = dict(zip(known, (index.title_vectors[title_rows] @ vector).tolist())) if known else {}
        penalties = self._twin_penalties(index, known, title_rows) if self.group_by_title else {}
        if self.group_by_title:
            # score every chunk of every candidate topic, so a group's mean is not biased by the pool cut
            pool = index.rows_of(titles)
        return self._rank(index, pool, sims[pool], title_sims, k, penalties, lexical=lexical)

    def _twin_penalties(self, index: SearchIndex, titles: list[str], rows: np.ndarray) -> dict[str, float]:
        """Per candidate title: how much to lower its group score for having a near-twin title."""
        if self.twin_penalty == 0.0 or len(titles) < 2 or len(index.title_names) < 2:
            return {}
        nearest = index.title_nearest[rows]
        centre = float(np.mean(nearest))
        return {t: self.twin_penalty * (float(r) - centre) for t, r in zip(titles, nearest)}

    def _rank(self, index: SearchIndex, rows: np.ndarray, sims: np.ndarray, title_sims: dict[str, float], k: int,
              penalties: dict[str, float] | None = None, *, lexical: LexicalScores | None = None) -> list[Passage]:
        ids = [index.ids[i] for i in rows]
        texts = [index.texts[i] for i in rows]
        metas = [index.metas[i] for i in rows]
        w = self.title_weight
        scores = [
            (1.0 - w) * float(s) + w * title_sims.get(m["title"], float(s))
            + (lexical.bonus(chunk_id) if lexical else 0.0)
            for s, m, chunk_id in zip(sims, metas, ids)
        ]
        penalty = penalties or {}
        best_in_doc: dict[str, float] = defaultdict(lambda: -1.0)
        for score, meta in zip(scores, metas):
            best_in_doc[meta["path"]] = max(best_in_doc[meta["path"]], score)
        shift: dict[str, float] = defaultdict(float)
        if self.group_by_title:
            groups: dict[str, list[float]] = defaultdict(list)
            doc_title = {m["path"]: m["title"] for m in metas}
            for path, best in best_in_doc.items():
                groups[doc_title[path]].append(best)
            for path, best in best_in_doc.items():
                members = groups[doc_title[path]]
                shift[path] = sum(members) / len(members) - best - penalty.get(doc_title[path], 0.0)
        ranked = sorted(
            range(len(ids)),
            key=lambda i: (scores[i] + shift[metas[i]["path"]], best_in_doc[metas[i]["path"]], scores[i]),
            reverse=True,
        )
        return [
            Passage(id=ids[i], text=texts[i], title=metas[i]["title"], source=metas[i]["source"],
                    score=min(1.0, max(0.0, scores[i] + shift[metas[i]["path"]])),
                    section=metas[i].get("section") or "", section_text=metas[i].get("section_text") or "")
            for i in ranked[:k]
        ]


class StoredVectors:
    """The answer composer's embedder over a knowledge base: blocks stored at ingest are read from memory,
    the customer's words are encoded (on the encoder's own thread when awaited)."""

    def __init__(self, kb: ChromaKnowledgeBase) -> None:
        self.kb = kb

    def __call__(self, texts: list[str]) -> np.ndarray:
        return self.kb.embed_known(texts)

    async def encode_async(self, texts: list[str]) -> np.ndarray:
        return await self.kb.embed_known_async(texts)
