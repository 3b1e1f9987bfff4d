"""Reading PDFs back in tests: text per page, normalized for comparison."""

from __future__ import annotations

import re

import pypdfium2 as pdfium


def page_texts(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        texts = []
        for page in document:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()


def squash(text: str) -> str:
    """Drop all whitespace: table cells and justified labels break and space text freely."""
    return re.sub(r"\s+", "", text)


def pdf_text(pdf: bytes) -> str:
    return squash("".join(page_texts(pdf)))
