"""PDF page → PNG, for previews and for golden-image tests."""

from __future__ import annotations

import io

import pypdfium2 as pdfium


class PageOutOfRange(ValueError):
    def __init__(self, page: int, count: int):
        super().__init__(f"page {page} is out of range 1..{count}")
        self.page = page
        self.count = count


def page_count(pdf: bytes) -> int:
    document = pdfium.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


def render_page_png(pdf: bytes, page: int, dpi: int = 110) -> bytes:
    """Rasterize page ``page`` (1-based) of ``pdf`` at ``dpi``; PNG bytes."""
    document = pdfium.PdfDocument(pdf)
    try:
        if not 1 <= page <= len(document):
            raise PageOutOfRange(page, len(document))
        bitmap = document[page - 1].render(scale=dpi / 72, may_draw_forms=True)
        image = bitmap.to_pil()
    finally:
        document.close()
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()
