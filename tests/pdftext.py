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


_FOOTER = re.compile(r"第\d+页共\d+页")


def _margin_lines(text: str) -> tuple[list[str], list[str]]:
    """A page's lines of content, and its top margin's (the section continued with （续）
    and the running header, one line or two), drawn after the content, before the page number."""
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and _FOOTER.fullmatch(squash(lines[-1])):
        lines.pop()
    margin: list[str] = []
    while lines and len(margin) < 2 and squash(lines[-1]).endswith("（续）"):
        margin.insert(0, lines.pop())
    return lines, margin


def page_body(text: str) -> str:
    """A page's text without its margins: the page number, the title of a section that
    continues from the page before (（续）) and the running header, all drawn after the
    page's content."""
    return squash("".join(_margin_lines(text)[0]))


def running_header(text: str) -> str:
    """The running header a page after the first carries (申报人：张三考核表（续）), or ''."""
    margin = squash("".join(_margin_lines(text)[1]))
    found = re.search(r"申报人：.*（续）$", margin)
    return found.group() if found else ""


def continued_title(text: str) -> str:
    """The title of the section a page continues (个人总结（续）), or ''."""
    margin = squash("".join(_margin_lines(text)[1]))
    running = running_header(text)
    return margin[: len(margin) - len(running)] if running else margin


def pdf_text(pdf: bytes) -> str:
    """The whole text, without the page margins that would cut a text flowing across pages."""
    return "".join(page_body(text) for text in page_texts(pdf))


def fonts_of_chars(pdf: bytes, chars: str) -> dict[str, set[str]]:
    """For each of ``chars``, the names of the fonts it is drawn with anywhere in ``pdf``."""
    import ctypes

    import pypdfium2.raw as raw

    found: dict[str, set[str]] = {c: set() for c in chars}
    document = pdfium.PdfDocument(pdf)
    try:
        for page in document:
            textpage = page.get_textpage()
            count = textpage.count_chars()
            for index in range(count):
                code = raw.FPDFText_GetUnicode(textpage, index)
                if 0xD800 <= code < 0xDC00 and index + 1 < count:
                    # pdfium reports a character beyond the BMP as two UTF-16 halves.
                    low = raw.FPDFText_GetUnicode(textpage, index + 1)
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                char = chr(code) if code and not 0xDC00 <= code < 0xE000 else ""
                if char not in found:
                    continue
                size = raw.FPDFText_GetFontInfo(textpage, index, None, 0, None)
                buffer = ctypes.create_string_buffer(size)
                raw.FPDFText_GetFontInfo(textpage, index, buffer, size, None)
                found[char].add(buffer.value.decode("utf-8", "replace"))
            textpage.close()
            page.close()
    finally:
        document.close()
    return found


def attachments(pdf: bytes) -> dict[str, bytes]:
    document = pdfium.PdfDocument(pdf)
    try:
        return {
            document.get_attachment(i).get_name(): bytes(document.get_attachment(i).get_data())
            for i in range(document.count_attachments())
        }
    finally:
        document.close()


def image_count(pdf: bytes, page: int) -> int:
    import pypdfium2.raw as raw

    document = pdfium.PdfDocument(pdf)
    try:
        return sum(1 for obj in document[page - 1].get_objects() if obj.type == raw.FPDF_PAGEOBJ_IMAGE)
    finally:
        document.close()


def ink_of_chars(pdf: bytes, chars: str, scale: float = 6.0) -> dict[str, list[float]]:
    """For each of ``chars``, how dark each of its occurrences is drawn (0 white to 1 black
    over the character's box): a bold character carries more ink than the same one regular."""
    import ctypes

    import pypdfium2.raw as raw

    found: dict[str, list[float]] = {c: [] for c in chars}
    document = pdfium.PdfDocument(pdf)
    try:
        for page in document:
            image = page.render(scale=scale, grayscale=True).to_pil().convert("L")
            height = page.get_height()
            textpage = page.get_textpage()
            count = textpage.count_chars()
            rect = raw.FS_RECTF()
            for index in range(count):
                code = raw.FPDFText_GetUnicode(textpage, index)
                if 0xD800 <= code < 0xDC00 and index + 1 < count:
                    low = raw.FPDFText_GetUnicode(textpage, index + 1)
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                char = chr(code) if code and not 0xDC00 <= code < 0xE000 else ""
                if char not in found:
                    continue
                raw.FPDFText_GetLooseCharBox(textpage, index, ctypes.byref(rect))
                box = [round(v * scale) for v in (rect.left, height - rect.top, rect.right, height - rect.bottom)]
                crop = image.crop(box)
                histogram = crop.histogram()
                found[char].append(sum((255 - v) * n for v, n in enumerate(histogram)) / (255 * sum(histogram)))
            textpage.close()
            page.close()
    finally:
        document.close()
    return found


BOTTOM_MARGIN_PT = 18 / 25.4 * 72  # common.css: @page margin-bottom 18mm


def text_below_the_body(pdf: bytes) -> list[str]:
    """Per page, the text drawn below the page body other than its footer. A row
    too tall for a page, kept whole, runs into the margin and is cut off there."""
    document = pdfium.PdfDocument(pdf)
    try:
        stray = []
        for number, page in enumerate(document, start=1):
            textpage = page.get_textpage()
            below = "".join(
                textpage.get_text_range(index, 1)
                for index in range(textpage.count_chars())
                if textpage.get_charbox(index)[3] < BOTTOM_MARGIN_PT - 1
            )
            textpage.close()
            rest = squash(below).replace(f"第{number}页共{len(document)}页", "", 1)
            if rest:
                stray.append(f"page {number}: {rest[:40]}")
        return stray
    finally:
        document.close()
