"""Load help-center articles (Markdown, HTML, plain text, PDF, DOCX) from a folder into `Document`s.

Only the text the customer would read is kept: HTML markup, scripts and navigation are dropped and
HTML headings become Markdown headings, so every format is chunked by the same section-aware code.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
TEXT_SUFFIXES = {".txt"}
OFFICE_SUFFIXES = {".pdf", ".docx"}
SUPPORTED_SUFFIXES = MARKDOWN_SUFFIXES | HTML_SUFFIXES | TEXT_SUFFIXES | OFFICE_SUFFIXES

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)


@dataclass(frozen=True)
class PageState:
    """What a web server said about a page when it was last downloaded, kept with its passages: validators
    to send back on the next crawl (an unchanged page then costs a 304, not a download), and the page's
    links, so a crawl still follows them when the page is not downloaded again."""

    etag: str = ""
    last_modified: str = ""
    links: tuple[str, ...] = ()

    @property
    def conditional_headers(self) -> dict[str, str]:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        return headers | ({"If-Modified-Since": self.last_modified} if self.last_modified else {})


@dataclass(frozen=True)
class Document:
    """One article: `path` is relative to the folder and is the document's identity on re-ingest."""

    path: str
    title: str
    text: str
    content_hash: str
    url: str | None = None
    page: PageState | None = None  # web pages only

    @property
    def source(self) -> str:
        """What a citation points to: the public URL when known, else the file path."""
        return self.url or self.path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode(data: bytes, path: str) -> str:
    """UTF-8 with replacement characters: one badly encoded file must not stop an ingest."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        log.warning("%s is not valid UTF-8; undecodable bytes were replaced", path)
        return data.decode("utf-8", errors="replace")


def _title_from_filename(path: str) -> str:
    stem = Path(path).stem.replace("_", " ").replace("-", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else path


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """`key: value` lines between leading `---` fences (a small, YAML-free subset)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    fields: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            fields[key.strip().lower()] = value.strip().strip("\"'")
    return fields, text[match.end():]


def parse_markdown(raw: str, path: str) -> tuple[str, str, str | None]:
    fields, body = _split_front_matter(raw)
    heading = HEADING.search(body)
    title = fields.get("title") or (heading.group(1).strip() if heading else _title_from_filename(path))
    return title, body.strip(), fields.get("url") or None


def parse_text(raw: str, path: str) -> tuple[str, str, str | None]:
    """Plain text: the first line is the title when it reads like one (short, no final period)."""
    fields, body = _split_front_matter(raw)
    body = body.strip()
    first = body.splitlines()[0].strip() if body else ""
    looks_like_title = 0 < len(first) <= 100 and not first.endswith((".", "?", "!", ":"))
    if fields.get("title"):
        return fields["title"], body, fields.get("url") or None
    if looks_like_title:  # make the title line a heading, as in Markdown, so it is not answer text
        rest = body.split("\n", 1)[1] if "\n" in body else ""
        return first, f"# {first}\n\n{rest.strip()}", fields.get("url") or None
    return _title_from_filename(path), body, fields.get("url") or None


def parse_html(raw: str, path: str) -> tuple[str, str, str | None]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    url = None
    canonical = soup.find("link", rel=lambda v: v is not None and "canonical" in v)
    if canonical and canonical.get("href"):
        url = str(canonical["href"]).strip()
    else:
        for attrs in ({"property": "og:url"}, {"name": "url"}, {"name": "og:url"}):
            meta = soup.find("meta", attrs=attrs)
            if meta and meta.get("content"):
                url = str(meta["content"]).strip()
                break
    h1 = soup.find("h1")
    title = ""
    if soup.title and soup.title.get_text(strip=True):
        title = soup.title.get_text(" ", strip=True)
    elif h1:
        title = h1.get_text(" ", strip=True)
    for tag in soup(["script", "style", "noscript", "nav", "footer", "header", "template", "title"]):
        tag.decompose()
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    for item in soup.find_all("li"):
        item.insert_before("\n- ")
    for block in soup.find_all(["p", "div", "br", "tr", "section", "article", "ul", "ol", "table"]):
        block.insert_after("\n")
    text = soup.get_text()
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines()]
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return title or _title_from_filename(path), body, url


def load_document(file: Path, root: Path) -> Document:
    """Read one supported file; `path` is relative to `root` with forward slashes."""
    rel = file.relative_to(root).as_posix()
    data = file.read_bytes()
    suffix = file.suffix.lower()
    if suffix in OFFICE_SUFFIXES:
        from knowledge.office import docx_to_markdown, pdf_to_markdown

        title, text = (pdf_to_markdown if suffix == ".pdf" else docx_to_markdown)(data)
        return Document(path=rel, title=title or _title_from_filename(rel), text=text, content_hash=sha256(data))
    raw = decode(data, rel)
    if suffix in HTML_SUFFIXES:
        title, text, url = parse_html(raw, rel)
    elif suffix in MARKDOWN_SUFFIXES:
        title, text, url = parse_markdown(raw, rel)
    else:
        title, text, url = parse_text(raw, rel)
    return Document(path=rel, title=title, text=text, content_hash=sha256(data), url=url)


def load_folder(folder: str | Path, *, unreadable: list[str] | None = None) -> list[Document]:
    """Every supported file under `folder` (recursively), sorted by path; empty files are skipped, and files
    that cannot be read are logged and listed in `unreadable`."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"not a folder: {root}")
    documents = []
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        if file.suffix.lower() not in SUPPORTED_SUFFIXES or file.name.startswith("."):
            continue
        try:
            document = load_document(file, root)
        except ValueError as error:  # knowledge.office.UnreadableDocument: one bad file must not stop an ingest
            rel = file.relative_to(root).as_posix()
            log.error("%s skipped: %s", rel, error)
            if unreadable is not None:
                unreadable.append(rel)
            continue
        if document.text:
            documents.append(document)
        else:
            log.warning("%s has no text; skipped", document.path)
    return documents
