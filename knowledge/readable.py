"""The readable part of a web page, as the Markdown the rest of ingest reads.

trafilatura finds the page's main content and drops what surrounds it (navigation, footers, cookie banners,
related-article boxes). Its XML keeps the structure we need, which its own text and Markdown outputs lose or
decorate: headings become `#` lines (sections and citation anchors), ordered lists `1.` lines in order,
nested items indented `-` lines (so a sub-step never breaks the numbering), table rows `cell | cell` lines
(as for Word tables), and emphasis plain text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from knowledge.documents import HEADING, parse_html

# Part of a crawled page's version: changed when `main_text` keeps something else, so pages are taken again.
EXTRACTION = "trafilatura-xml/1"
_LEVEL = re.compile(r"h([1-6])")


def parse_page(raw: str, path: str) -> tuple[str, str, str | None]:
    """(title, text, canonical URL) of a web page: title and URL as for an HTML file, the text from its main
    content. When that finds nothing, or loses the headings the page's own text has (trafilatura dumps a
    short page without containers whole, navigation and all), the page's text is kept as for a file."""
    title, body, url = parse_html(raw, path)
    main = main_text(raw, next((u for u in (url, path) if u and u.startswith(("http://", "https://"))), ""))
    if not main or (HEADING.search(body) and not HEADING.search(main)):
        return title, body, url
    return title, main, url


def main_text(html: str, url: str = "") -> str:
    """The page's main content as Markdown; "" when trafilatura finds none (the caller keeps its own text)."""
    import trafilatura

    # favor_recall: a help-centre page is mostly content, and a lost step costs more than a kept line
    xml = trafilatura.extract(html, url=url or None, output_format="xml", include_formatting=True,
                              include_tables=True, include_links=False, include_images=False,
                              include_comments=False, favor_recall=True)
    if not xml:
        return ""
    main = ET.fromstring(xml).find("main")
    if main is None:
        return ""
    lines: list[str] = []
    for element in main:
        _block(element, lines)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _block(element: ET.Element, lines: list[str]) -> None:
    tag = element.tag
    if tag == "head":
        level = _LEVEL.fullmatch(element.get("rend", ""))
        text = _clean(_text(element))
        if text:
            lines += ["", f"{'#' * (int(level.group(1)) if level else 2)} {text}", ""]
    elif tag == "list":
        lines.append("")
        _list(element, lines, 0)
        lines.append("")
    elif tag == "table":
        rows = [" | ".join(_clean(_text(cell)) for cell in row.iter("cell")) for row in element.iter("row")]
        lines += ["", *(r for r in rows if r.strip(" |")), ""]
    elif tag == "div":  # a container the extraction kept: its own text, then its blocks
        if (element.text or "").strip():
            lines += ["", _clean(element.text or ""), ""]
        for child in element:
            _block(child, lines)
            if (child.tail or "").strip():
                lines += ["", _clean(child.tail or ""), ""]
    elif tag == "code":
        lines += ["", *(element.text or "").splitlines(), ""]
    else:  # p, quote, div and anything newer: its text, line breaks kept
        text = "\n".join(_clean(line) for line in _text(element).split("\n"))
        if text.strip():
            lines += ["", text.strip(), ""]


def _list(element: ET.Element, lines: list[str], depth: int) -> None:
    """Items in order; only the outer list of an ordered list is numbered, inner items are indented bullets."""
    numbered = element.get("rend") == "ol" and depth == 0
    for number, item in enumerate(element.findall("item"), 1):
        marker = f"{number}." if numbered else "-"
        text = _clean(_text(item))
        if text:
            lines.append(f"{'  ' * depth}{marker} {text}")
        for inner in item.findall("list"):
            _list(inner, lines, depth + 1)


def _text(element: ET.Element) -> str:
    """The element's text without nested lists (rendered as their own lines); `<lb/>` becomes a newline."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == "lb":
            parts.append("\n")
        elif child.tag != "list":
            parts.append(_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
