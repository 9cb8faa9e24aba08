"""PDF and DOCX articles: read with their headings and lists, ingested, found and cited like any page."""

from __future__ import annotations

import shutil
from pathlib import Path

import docx
import pytest

from knowledge.chroma import ChromaKnowledgeBase
from knowledge.ingest import ingest_folder
from knowledge.office import UnreadableDocument, docx_to_markdown, pdf_to_markdown

FIXTURES = Path(__file__).with_name("fixtures")
PDF = FIXTURES / "refunds.pdf"  # printed to PDF by Chromium from an HTML page with h1/h2 headings


def write_docx(path: Path) -> None:
    """A Word article as people write them: a title, headings, a bulleted list and a table."""
    document = docx.Document()
    document.core_properties.title = "Two-factor authentication"
    document.add_heading("Two-factor authentication", level=1)
    document.add_paragraph("Two-factor authentication protects your account with a second step at sign-in.")
    document.add_heading("Turning it on", level=2)
    document.add_paragraph("To turn on two-factor authentication:")
    for step in ("Open Security in your profile.", "Scan the QR code with an authenticator app.",
                 "Enter the six-digit code to confirm."):
        document.add_paragraph(step, style="List Bullet")
    document.add_heading("Lost your phone", level=2)
    document.add_paragraph("Use one of your recovery codes to sign in, then set up the new phone.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "App", "Supported"
    table.cell(1, 0).text, table.cell(1, 1).text = "Google Authenticator", "yes"
    document.save(str(path))


def test_a_pdf_keeps_its_headings_as_sections() -> None:
    title, text = pdf_to_markdown(PDF.read_bytes())
    assert title == "Refunds and billing"
    assert "# Refunds and billing" in text and "\n## Annual plans\n" in text and "\n## Invoices\n" in text
    annual = text.split("## Annual plans", 1)[1].split("##", 1)[0]
    assert "refunded within 30 days of purchase" in annual and "Invoices are emailed" not in annual


def test_a_docx_keeps_headings_lists_and_tables(tmp_path: Path) -> None:
    write_docx(tmp_path / "2fa.docx")
    title, text = docx_to_markdown((tmp_path / "2fa.docx").read_bytes())
    assert title == "Two-factor authentication"
    assert "# Two-factor authentication" in text and "## Turning it on" in text
    assert "- Open Security in your profile.\n- Scan the QR code with an authenticator app.\n" in text
    assert "Google Authenticator | yes" in text


@pytest.mark.parametrize("reader", [pdf_to_markdown, docx_to_markdown])
def test_a_damaged_file_is_a_clear_error(reader) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnreadableDocument):
        reader(b"%PDF-1.7 this is not really a document")


async def test_pdf_and_docx_articles_answer_questions_with_section_citations(tmp_path: Path,
                                                                             caplog: pytest.LogCaptureFixture
                                                                             ) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(PDF, folder / "refunds.pdf")
    write_docx(folder / "two-factor.docx")
    kb = ChromaKnowledgeBase.persistent(str(tmp_path / "chroma"))
    report = ingest_folder(kb, folder, progress=False)
    assert report.added == 2 and report.chunks > 2

    [top, *_] = await kb.search("Can I get a refund for an annual plan?", k=3)
    assert top.source == "refunds.pdf" and top.title == "Refunds and billing"
    assert top.section.endswith("Annual plans") and "30 days" in top.section_text
    [top, *_] = await kb.search("I lost my phone and cannot sign in with two-factor", k=3)
    assert top.source == "two-factor.docx" and top.section.endswith("Lost your phone")

    (folder / "refunds.pdf").write_bytes(b"%PDF-1.7 damaged in transit")  # a bad copy replaces the good one
    again = ingest_folder(kb, folder, progress=False)
    assert again.removed == 0 and "refunds.pdf skipped" in caplog.text
    [top, *_] = await kb.search("Can I get a refund for an annual plan?", k=3)
    assert top.source == "refunds.pdf"  # the earlier version still answers
