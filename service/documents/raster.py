"""PDF pages → PNG (previews, golden images), page counts, and the one lock every call
into pdfium takes.

pdfium is not thread-safe, not even across documents (pypdfium2's documentation: using it
from several threads at once can crash or corrupt the process), so every use in the
process, here and elsewhere (upload checks), holds :data:`PDFIUM_LOCK`.
"""

from __future__ import annotations

import io
import threading

import pypdfium2 as pdfium

PDFIUM_LOCK = threading.RLock()


class PageOutOfRange(ValueError):
    def __init__(self, page: int, count: int):
        super().__init__(f"page {page} is out of range 1..{count}")
        self.page = page
        self.count = count

    def __reduce__(self):
        return (PageOutOfRange, (self.page, self.count))


def page_count(pdf: bytes) -> int:
    with PDFIUM_LOCK:
        document = pdfium.PdfDocument(pdf)
        try:
            return len(document)
        finally:
            document.close()


def render_page_png(pdf: bytes, page: int, dpi: int = 110) -> bytes:
    """Rasterize page ``page`` (1-based) of ``pdf`` at ``dpi``; PNG bytes."""
    with PDFIUM_LOCK:
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


def first_page_text(pdf: bytes) -> str | None:
    """The text layer of page 1 (None: not a readable PDF, or no pages)."""
    with PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(pdf)
        except pdfium.PdfiumError:
            return None
        try:
            if len(document) == 0:
                return None
            textpage = document[0].get_textpage()
            try:
                return textpage.get_text_range()
            finally:
                textpage.close()
        except pdfium.PdfiumError:
            # A page tree that loops or names no page: counted, but no page loads.
            return None
        finally:
            document.close()


def attachment_data(pdf: bytes, name: str) -> bytes | None:
    """The content of the embedded file called ``name``, if the PDF has one."""
    with PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(pdf)
        except pdfium.PdfiumError:
            return None
        try:
            for index in range(document.count_attachments()):
                attachment = document.get_attachment(index)
                if attachment.get_name() == name:
                    return bytes(attachment.get_data())
            return None
        except pdfium.PdfiumError:
            return None
        finally:
            document.close()
