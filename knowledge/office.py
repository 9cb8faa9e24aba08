"""PDF (pypdf) and DOCX (python-docx) articles as Markdown, so they are chunked by the same section-aware code
as every other format: headings become `#` headings and list items `- ` lines.

A PDF has no structure to read, only text drawn at a size: the size most text has is the body, and larger
sizes are headings (the largest `#`, the next `##` …). Bullet characters start list items; a wider gap
between lines starts a new paragraph.
"""

from __future__ import annotations

import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any


class UnreadableDocument(ValueError):
    """The file is not a document the library can read (damaged, encrypted, not what its name says)."""


_BULLET = re.compile(r"^\s*[•◦▪‣●○■□–\-\*]\s+")
_NUMBERED = re.compile(r"^\s*\d{1,3}[.)]\s+")
_SPACES = re.compile(r"[ \t\xa0]+")


@dataclass
class _Line:
    text: str
    size: float
    y: float


def _pdf_lines(reader: Any) -> list[_Line]:
    lines: list[_Line] = []
    for page_number, page in enumerate(reader.pages):
        def visit(text: str, cm: list[float], tm: list[float], font: Any, font_size: float,
                  page_offset: float = page_number * 10_000.0) -> None:
            size = round(abs(font_size * (tm[3] or 1) * (cm[3] or 1)), 1)
            y = page_offset + abs(tm[5] * (cm[3] or 1) + cm[5])
            for part in text.split("\n"):
                if part.strip():
                    lines.append(_Line(_SPACES.sub(" ", part).strip(), size, y))
        page.extract_text(visitor_text=visit)
    return lines


def pdf_to_markdown(data: bytes) -> tuple[str, str]:
    """(title, Markdown text); raises UnreadableDocument."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument("the PDF is encrypted")
        lines = _pdf_lines(reader)
        title = str((reader.metadata.title if reader.metadata else "") or "").strip()
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        raise UnreadableDocument(f"not a readable PDF: {error}") from error
    if not lines:
        return title, ""
    by_size = Counter[float]()
    for line in lines:
        by_size[line.size] += len(line.text)
    body = by_size.most_common(1)[0][0]
    levels = {size: min(level, 6) for level, size in
              enumerate(sorted((s for s in by_size if s > body * 1.15), reverse=True), start=1)}
    gaps = [abs(b.y - a.y) for a, b in zip(lines, lines[1:]) if a.size == b.size == body and b.y != a.y]
    line_gap = statistics.median(gaps) if gaps else 0.0
    out: list[str] = []
    previous: _Line | None = None
    for line in lines:
        if line.size in levels:
            out += ["", "#" * levels[line.size] + " " + line.text, ""]
            title = title or line.text
        else:
            wide = previous is not None and line_gap and abs(line.y - previous.y) > line_gap * 1.6
            if wide or (previous is not None and previous.size in levels):
                out.append("")
            if _BULLET.match(line.text):
                out.append("- " + _BULLET.sub("", line.text))
            else:
                out.append(line.text)
        previous = line
    return title, re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def docx_to_markdown(data: bytes) -> tuple[str, str]:
    """(title, Markdown text) from Word's own structure: heading styles, list paragraphs, tables."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, ValueError, KeyError) as error:
        raise UnreadableDocument(f"not a readable DOCX: {error}") from error
    except Exception as error:  # a zip that is not Word's (BadZipFile and lxml errors)
        raise UnreadableDocument(f"not a readable DOCX: {error}") from error
    title = (document.core_properties.title or "").strip()
    out: list[str] = []
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            out.append(_docx_paragraph(Paragraph(block, document)))
            if not title and out[-1].startswith("# "):
                title = out[-1][2:]
        elif tag == "tbl":
            table = Table(block, document)
            out += ["", *(" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows), ""]
    return title, re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _docx_paragraph(paragraph: Any) -> str:
    text = _SPACES.sub(" ", paragraph.text).strip()
    if not text:
        return ""
    style = (paragraph.style.name if paragraph.style is not None else "").lower()
    if style == "title":
        return f"\n# {text}\n"
    if style.startswith("heading"):
        level = int(style.split()[-1]) if style.split()[-1].isdigit() else 1
        return f"\n{'#' * min(level, 6)} {text}\n"
    numbered = paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
    if style.startswith("list number"):
        return f"1. {text}"
    if style.startswith("list") or numbered or _BULLET.match(text):
        return "- " + _BULLET.sub("", text)
    return f"\n{text}\n"
