"""A help-centre website served by a local HTTP server: sitemap, crawl, robots.txt, limits, re-ingest."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from knowledge.chroma import ChromaKnowledgeBase
from knowledge.ingest import ingest_folder, ingest_site
from knowledge.web import crawl
from tests.net import free_port

SAMPLE_DOCS = Path(__file__).resolve().parents[2] / "service" / "sample_docs"


def page(title: str, body: str, links: str = "") -> str:
    return (f"<!DOCTYPE html><html><head><title>{title}</title></head><body><nav><a href='/'>Home</a>{links}</nav>"
            f"<h1>{title}</h1>{body}</body></html>")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "site"
    (root / "articles").mkdir(parents=True)
    (root / "private").mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    (root / "index.html").write_text(page("Help centre", "<p>Welcome to the Acme help centre.</p>",
                                          "<a href='/articles/refunds.html'>Refunds</a>"
                                          "<a href='/private/staff.html'>Staff</a>"
                                          "<a href='http://example.invalid/elsewhere.html'>Elsewhere</a>"))
    (root / "articles" / "refunds.html").write_text(page(
        "Refunds", "<h2>Annual plans</h2><p>Annual plans can be refunded within 30 days of purchase.</p>"
                   "<h2>Monthly plans</h2><p>Monthly plans are not refunded; cancel before renewal.</p>",
        "<a href='/articles/shipping.html'>Shipping</a>"))
    (root / "articles" / "shipping.html").write_text(page(
        "Shipping", "<h2>Delivery times</h2><p>Parcels arrive within 3 to 5 working days in Europe.</p>"))
    (root / "private" / "staff.html").write_text(page("Staff only", "<p>The staff discount code is SECRET.</p>"))
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    (root / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>{base}/{p}</loc></url>" for p in
                  ("articles/refunds.html", "articles/shipping.html", "private/staff.html"))
        + "<url><loc>http://example.invalid/other.html</loc></url></urlset>")
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(SimpleHTTPRequestHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, root
    server.shutdown()
    server.server_close()


def test_a_sitemap_gives_its_pages_and_robots_txt_is_obeyed(site: tuple[str, Path]) -> None:
    base, _ = site
    job = crawl(f"{base}/sitemap.xml")
    assert sorted(d.path for d in job.documents) == [f"{base}/articles/refunds.html",
                                                     f"{base}/articles/shipping.html"]
    assert f"{base}/private/staff.html" in job.skipped
    assert all("SECRET" not in d.text for d in job.documents)
    refunds = next(d for d in job.documents if d.title == "Refunds")
    assert "## Annual plans" in refunds.text and "Home" not in refunds.text


def test_a_crawl_stays_on_the_site_within_its_depth_and_page_limits(site: tuple[str, Path]) -> None:
    base, _ = site
    deep = crawl(f"{base}/index.html", max_depth=2)
    assert sorted(d.path for d in deep.documents) == [f"{base}/articles/refunds.html",
                                                      f"{base}/articles/shipping.html", f"{base}/index.html"]
    shallow = crawl(f"{base}/index.html", max_depth=1)
    assert sorted(d.path for d in shallow.documents) == [f"{base}/articles/refunds.html", f"{base}/index.html"]
    assert len(crawl(f"{base}/index.html", max_pages=1).documents) == 1


def test_site_pages_answer_with_their_url_and_section_and_reingest_follows_the_site(
        site: tuple[str, Path], tmp_path: Path) -> None:
    base, root = site
    kb = ChromaKnowledgeBase.persistent(str(tmp_path / "chroma"))
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(SAMPLE_DOCS / "reset-password.md", folder)
    ingest_folder(kb, folder, progress=False)
    first = ingest_site(kb, f"{base}/sitemap.xml", progress=False)
    assert (first.added, first.removed) == (2, 0)
    [top, *_] = kb.search_sync("Can I get my money back for an annual plan?", k=3)
    assert top.source == f"{base}/articles/refunds.html" and top.section.endswith("Annual plans")
    assert top.citation().link() == f"{base}/articles/refunds.html#annual-plans"

    refunds = root / "articles" / "refunds.html"
    refunds.write_text(refunds.read_text().replace("30 days", "60 days"))
    # Last-Modified counts whole seconds: a change within the second of the first crawl would look unchanged
    # to the server's If-Modified-Since check, where a real site changes later than it was crawled
    changed = refunds.stat().st_mtime + 5
    os.utime(refunds, (changed, changed))
    (root / "articles" / "shipping.html").unlink()
    again = ingest_site(kb, f"{base}/sitemap.xml", progress=False)
    assert (again.updated, again.removed, again.unchanged) == (1, 1, 0)
    assert set(kb.hashes_by_path()) == {"reset-password.md", f"{base}/articles/refunds.html"}
    [top, *_] = kb.search_sync("Can I get my money back for an annual plan?", k=3)
    assert "60 days" in top.section_text
    ingest_folder(kb, folder, progress=False)  # a folder re-ingest leaves the site's pages alone
    assert f"{base}/articles/refunds.html" in kb.hashes_by_path()
