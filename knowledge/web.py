"""Help-centre websites as documents: a sitemap's pages, or a crawl from a start page within its site.

robots.txt is obeyed (user agent `supportbot`), only pages of the start URL's scheme and host are fetched,
and the crawl stops at `max_pages` and `max_depth` with at most `concurrency` requests at once. Each page's
main content is taken by `knowledge.readable` (headings become sections; navigation, footers and banners are
dropped), and its URL is the document's identity, so a re-ingest replaces changed pages and removes the ones
that disappeared. Pages stored before are asked for conditionally (their ETag and Last-Modified): a 304 keeps
them as they are, without downloading them, and the links stored with them are followed as before.
"""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from knowledge.documents import Document, PageState, decode, sha256
from knowledge.readable import EXTRACTION, parse_page

log = logging.getLogger(__name__)

USER_AGENT = "supportbot"
_SKIPPED_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".css", ".js", ".zip", ".xml", ".ico")


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def site_of(url: str) -> str:
    """`https://help.acme.com` for any page of it: what "the same site" means here."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Crawl:
    start: str
    max_pages: int = 200
    max_depth: int = 3
    concurrency: int = 4
    timeout: float = 20.0
    documents: list[Document] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # refused by robots.txt, gone, failed, or not HTML
    unavailable: list[str] = field(default_factory=list)  # failed for now (network, 5xx): keep what we had
    stored: Mapping[str, tuple[str, PageState]] = field(default_factory=dict)  # URL → content hash, page state
    not_modified: list[str] = field(default_factory=list)  # stored pages the server answered 304 for

    @property
    def site(self) -> str:
        return site_of(self.start)

    def same_site(self, url: str) -> bool:
        return site_of(url) == self.site

    async def run(self) -> list[Document]:
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=True,
                                     headers={"User-Agent": USER_AGENT}) as client:
            robots = await self._robots(client)
            limit = asyncio.Semaphore(self.concurrency)
            sitemap = await self._sitemap(client, self.start)
            queue: list[tuple[str, int]] = [(u, self.max_depth) for u in sitemap] if sitemap is not None \
                else [(self.start, 0)]
            seen = {url for url, _ in queue}
            while queue and self.pages < self.max_pages:
                batch, queue = queue[:self.max_pages - self.pages], []
                depths = dict(batch)
                results = await asyncio.gather(*(self._page(client, robots, limit, url, depths[url] < self.max_depth)
                                                 for url, _ in batch))
                for url, links in results:
                    if depths[url] >= self.max_depth:
                        continue
                    for link in links:
                        if link not in seen and self.same_site(link):
                            seen.add(link)
                            queue.append((link, depths[url] + 1))
        # `/` kept by a 304 and `/index.html` downloaded: one page
        kept = {self.stored[url][0] for url in self.not_modified}
        self.documents = [d for d in self.documents if d.content_hash not in kept]
        return self.documents[:self.max_pages]

    @property
    def pages(self) -> int:
        return len(self.documents) + len(self.not_modified)

    async def _robots(self, client: httpx.AsyncClient) -> RobotFileParser:
        robots = RobotFileParser()
        try:
            response = await client.get(f"{self.site}/robots.txt")
            robots.parse(response.text.splitlines() if response.status_code == 200 else [])
        except httpx.HTTPError as error:
            log.warning("%s/robots.txt could not be read (%s); crawling as if it allowed everything", self.site,
                        error)
            robots.parse([])
        return robots

    async def _sitemap(self, client: httpx.AsyncClient, url: str, depth: int = 0) -> list[str] | None:
        """The pages a sitemap (or a sitemap index, one level deep) lists; None when `url` is no sitemap."""
        if not url.lower().split("?")[0].endswith(".xml"):
            return None
        response = await client.get(url)
        response.raise_for_status()
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError as error:
            raise ValueError(f"{url} is not a sitemap: {error}") from error
        locs = [el.text.strip() for el in root.iter() if el.tag.endswith("loc") and el.text]
        if root.tag.endswith("sitemapindex") and depth == 0:
            pages: list[str] = []
            for child in locs:
                if self.same_site(child):
                    pages += await self._sitemap(client, child, 1) or []
            return pages
        return [urldefrag(loc)[0] for loc in locs if self.same_site(loc)]

    async def _page(self, client: httpx.AsyncClient, robots: RobotFileParser, limit: asyncio.Semaphore,
                    url: str, follow: bool) -> tuple[str, list[str]]:
        if not robots.can_fetch(USER_AGENT, url):
            log.info("%s: disallowed by robots.txt", url)
            self.skipped.append(url)
            return url, []
        async with limit:
            try:
                previous = self.stored.get(url)
                if previous is not None and follow and not previous[1].links:
                    previous = None  # stored without its links (it was a leaf then): download it to follow them
                response = await client.get(url, headers=previous[1].conditional_headers if previous else None)
            except httpx.HTTPError as error:
                log.warning("%s not fetched: %s", url, error)
                self.skipped.append(url)
                self.unavailable.append(url)
                return url, []
        if response.status_code >= 500 or response.status_code == 429:
            log.warning("%s answered %d; its earlier version is kept", url, response.status_code)
            self.unavailable.append(url)
        if response.status_code == 304 and previous is not None:
            self.not_modified.append(url)
            return url, list(previous[1].links)
        if response.status_code != 200 or "html" not in response.headers.get("content-type", ""):
            self.skipped.append(url)
            return url, []
        raw = decode(response.content, url)
        links = _links(raw, str(response.url))
        title, text, canonical = parse_page(raw, url)
        # the extraction is part of the version: pages stored by an earlier one are taken again
        digest = sha256(EXTRACTION.encode() + response.content)
        if any(d.content_hash == digest for d in self.documents):  # `/` and `/index.html`: one page
            return url, links
        page = PageState(etag=response.headers.get("etag", ""), last_modified=response.headers.get("last-modified", ""),
                         links=tuple(links) if follow else ())
        if text and self.pages < self.max_pages:
            self.documents.append(Document(path=url, title=title, text=text, content_hash=digest, page=page,
                                           url=canonical if canonical and self.same_site(canonical) else url))
        return url, links


def _links(html: str, base: str) -> list[str]:
    from bs4 import BeautifulSoup

    out: list[str] = []
    for anchor in BeautifulSoup(html, "html.parser").find_all("a", href=True):
        link = urldefrag(urljoin(base, str(anchor["href"])))[0]
        if is_url(link) and not link.lower().split("?")[0].endswith(_SKIPPED_SUFFIXES) and link not in out:
            out.append(link)
    return out


def crawl(start: str, stored: Mapping[str, tuple[str, PageState]] | None = None, **limits: int | float) -> Crawl:
    """Run a crawl to the end (blocking); `.documents` has the pages downloaded, `.not_modified` the `stored`
    pages (URL → content hash and page state) the server said are unchanged, `.skipped` what was left out."""
    job = Crawl(start, stored=stored or {}, **limits)  # type: ignore[arg-type]
    asyncio.run(job.run())
    return job


def other_sites(paths: Iterable[str], site: str) -> list[str]:
    """Stored documents that a re-ingest of `site` must leave alone: files, and pages of other sites."""
    return [p for p in paths if not (is_url(p) and site_of(p) == site)]
