"""Re-ingesting a site asks for each stored page conditionally: unchanged pages cost a 304, no download and
no embedding; changed pages are downloaded and embedded again; pages gone (404, 410) are removed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from knowledge.chroma import ChromaKnowledgeBase
from knowledge.embedding import embed
from knowledge.ingest import ingest_site
from tests.knowledge.caching_site import Site, serve

ARTICLES = {
    "/refunds.html": ("Refunds", "<h2>Annual plans</h2><p>Annual plans can be refunded within 30 days of purchase."
                                 "</p><h2>Monthly plans</h2><p>Monthly plans are not refunded; cancel before "
                                 "the renewal date to stop the next payment.</p>"),
    "/shipping.html": ("Shipping", "<h2>Delivery times</h2><p>Parcels arrive within 3 to 5 working days in "
                                   "Europe and within 10 working days elsewhere.</p>"),
    "/invoices.html": ("Invoices", "<h2>Downloading invoices</h2><p>Every invoice can be downloaded as a PDF "
                                   "from the Billing page of the account settings.</p>"),
    "/passwords.html": ("Passwords", "<h2>Resetting</h2><p>A forgotten password is reset from the sign-in "
                                     "page with the link we send by email.</p>"),
}


def article(title: str, body: str, links: str = "") -> str:
    return (f"<!DOCTYPE html><html><head><title>{title}</title></head><body><nav><a href='/'>Home</a>{links}"
            f"</nav><main><article><h1>{title}</h1>{body}</article></main><footer>Acme Inc.</footer></body></html>")


class CountingEmbedder:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.texts += texts
        return embed(texts)


def only_about(texts: list[str], word: str) -> bool:
    """Texts were embedded, all of them from the one article that uses `word`."""
    words = {"refund", "parcel", "invoice", "password"}
    return bool(texts) and all(not any(w in t.lower() for w in words - {word}) for t in texts)


def published(site: Site, paths: list[str] | None = None) -> Site:
    for path, (title, body) in ARTICLES.items():
        if paths is None or path in paths:
            site.put(path, article(title, body), modified=time.time() - 3600)
    site.sitemap(*site.pages)
    return site


@pytest.fixture
def kb(tmp_path: Path) -> ChromaKnowledgeBase:
    return ChromaKnowledgeBase.persistent(str(tmp_path / "chroma"))


@pytest.fixture
def site() -> Iterator[Site]:
    with serve(Site()) as running:
        yield published(running)


def test_an_unchanged_site_is_answered_with_304s_and_nothing_is_downloaded_or_embedded(
        site: Site, kb: ChromaKnowledgeBase) -> None:
    first = ingest_site(kb, f"{site.base}/sitemap.xml", progress=False)
    assert (first.added, first.not_modified) == (4, 0) and site.page_bodies() == 4
    stored = kb.hashes_by_path()
    site.reset_counts()

    encoder = CountingEmbedder()
    again = ingest_site(kb, f"{site.base}/sitemap.xml", progress=False, embedder=encoder)
    assert (again.not_modified, again.unchanged, again.added, again.updated, again.removed) == (4, 4, 0, 0, 0)
    assert again.chunks == 0 and encoder.texts == []
    assert site.page_bodies() == 0
    assert sum(site.conditional.values()) == 4 and all(site.requests[p] == 1 for p in ARTICLES)
    assert kb.hashes_by_path() == stored
    [top, *_] = kb.search_sync("How long does delivery take?", k=1)
    assert top.source == f"{site.base}/shipping.html"


def test_a_changed_page_is_downloaded_and_embedded_again_and_pages_gone_are_removed(
        site: Site, kb: ChromaKnowledgeBase) -> None:
    ingest_site(kb, f"{site.base}/sitemap.xml", progress=False)
    site.reset_counts()
    title, body = ARTICLES["/refunds.html"]
    site.put("/refunds.html", article(title, body.replace("30 days", "60 days")))
    site.remove("/shipping.html")  # 404
    site.remove("/invoices.html", gone=True)  # 410

    encoder = CountingEmbedder()
    again = ingest_site(kb, f"{site.base}/sitemap.xml", progress=False, embedder=encoder)
    assert (again.updated, again.removed, again.not_modified, again.added) == (1, 2, 1, 0)
    assert dict(site.bodies) == {"/sitemap.xml": 1, "/refunds.html": 1}
    assert only_about(encoder.texts, "refund")
    assert set(kb.hashes_by_path()) == {f"{site.base}/refunds.html", f"{site.base}/passwords.html"}
    [top, *_] = kb.search_sync("Can I get my money back for an annual plan?", k=1)
    assert "60 days" in top.section_text

    site.reset_counts()  # the changed page's new validators were stored: the next re-ingest downloads nothing
    third = ingest_site(kb, f"{site.base}/sitemap.xml", progress=False)
    assert (third.not_modified, third.chunks) == (2, 0) and site.page_bodies() == 0


def test_a_crawl_follows_the_stored_links_of_pages_that_did_not_change(kb: ChromaKnowledgeBase) -> None:
    with serve(Site()) as site:
        site.put("/index.html", article("Help centre", "<p>Welcome to the Acme help centre, where every "
                                        "question about plans, delivery and accounts is answered.</p>",
                                        "<a href='/refunds.html'>Refunds</a>"))
        title, body = ARTICLES["/refunds.html"]
        site.put("/refunds.html", article(title, body, "<a href='/shipping.html'>Shipping</a>"))
        site.put("/shipping.html", article(*ARTICLES["/shipping.html"]))
        first = ingest_site(kb, f"{site.base}/index.html", progress=False)
        assert first.added == 3
        site.reset_counts()

        again = ingest_site(kb, f"{site.base}/index.html", progress=False)
        assert (again.not_modified, again.removed) == (3, 0) and site.page_bodies() == 0

        site.put("/refunds.html", article(title, body, "<a href='/shipping.html'>Shipping</a>"
                                                       "<a href='/invoices.html'>Invoices</a>"))
        site.put("/invoices.html", article(*ARTICLES["/invoices.html"]))
        site.reset_counts()
        third = ingest_site(kb, f"{site.base}/index.html", progress=False)
        assert (third.not_modified, third.updated, third.added) == (2, 1, 1)
        assert dict(site.bodies) == {"/refunds.html": 1, "/invoices.html": 1}


def test_last_modified_alone_is_enough(kb: ChromaKnowledgeBase) -> None:
    with serve(Site(etag=False)) as site:
        published(site)
        ingest_site(kb, f"{site.base}/sitemap.xml", progress=False)
        site.reset_counts()
        site.put("/passwords.html", article("Passwords", "<p>Passwords are reset by the account owner.</p>"))
        again = ingest_site(kb, f"{site.base}/sitemap.xml", progress=False)
        assert (again.not_modified, again.updated) == (3, 1)
        assert site.page_bodies() == 1


def test_a_server_that_ignores_validators_still_gets_only_changed_pages_embedded(kb: ChromaKnowledgeBase) -> None:
    with serve(Site(honour=False)) as site:
        published(site)
        ingest_site(kb, f"{site.base}/sitemap.xml", progress=False)
        site.reset_counts()
        title, body = ARTICLES["/shipping.html"]
        site.put("/shipping.html", article(title, body.replace("3 to 5", "2 to 4")))
        encoder = CountingEmbedder()
        again = ingest_site(kb, f"{site.base}/sitemap.xml", progress=False, embedder=encoder)
        assert (again.not_modified, again.unchanged, again.updated) == (0, 3, 1)
        assert site.page_bodies() == 4 and sum(site.conditional.values()) == 4
        assert only_about(encoder.texts, "parcel")


def test_validators_a_server_starts_sending_are_stored_without_embedding_again(kb: ChromaKnowledgeBase) -> None:
    with serve(Site(etag=False, last_modified=False)) as site:
        published(site)
        ingest_site(kb, f"{site.base}/sitemap.xml", progress=False)
        site.etag = True
        again = ingest_site(kb, f"{site.base}/sitemap.xml", progress=False)
        assert (again.unchanged, again.not_modified, again.chunks) == (4, 0, 0)
        site.reset_counts()
        third = ingest_site(kb, f"{site.base}/sitemap.xml", progress=False)
        assert third.not_modified == 4 and site.page_bodies() == 0
