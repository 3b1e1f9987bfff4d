"""Lines of a PDF's text layer, grouped into the fields they print, for typography checks.

WeasyPrint writes each laid-out line as its own run of glyphs. Here a line is
a run of characters on one baseline without a gap wider than an em; a field
is a stack of lines that follow each other at the line pitch and overlap
horizontally (the lines of one table cell or paragraph). Rows of a table are
further apart (cell padding and rules), so they stay separate fields.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as raw

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


@dataclass
class Line:
    page: int
    text: str
    left: float
    right: float
    bottom: float
    top: float
    size: float

    @property
    def ideographs(self) -> int:
        return len(CJK.findall(self.text))


@dataclass
class Field:
    lines: list[Line] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "/".join(line.text for line in self.lines)


def text_lines(pdf: bytes) -> list[Line]:
    lines: list[Line] = []
    document = pdfium.PdfDocument(pdf)
    try:
        for number, page in enumerate(document, start=1):
            textpage = page.get_textpage()
            lines += _page_lines(textpage, number)
            textpage.close()
            page.close()
    finally:
        document.close()
    return lines


def _page_lines(textpage, number: int) -> list[Line]:
    lines: list[Line] = []
    current: Line | None = None
    count = raw.FPDFText_CountChars(textpage)
    rect = raw.FS_RECTF()
    index = 0
    while index < count:
        code = raw.FPDFText_GetUnicode(textpage, index)
        generated = raw.FPDFText_IsGenerated(textpage, index) == 1
        step = 1
        if 0xD800 <= code < 0xDC00 and index + 1 < count:
            low = raw.FPDFText_GetUnicode(textpage, index + 1)
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            step = 2
        index_of_char = index
        index += step
        char = chr(code) if code else ""
        if generated or not char or char in "\r\n":
            continue
        raw.FPDFText_GetLooseCharBox(textpage, index_of_char, ctypes.byref(rect))
        size = raw.FPDFText_GetFontSize(textpage, index_of_char)
        left, right, bottom, top = rect.left, rect.right, rect.bottom, rect.top
        same_line = (
            current is not None
            and abs(current.bottom - bottom) < 0.2 * size
            and -0.3 * size < left - current.right < 1.0 * size
        )
        if same_line:
            current.text += char
            current.right = max(current.right, right)
            current.top = max(current.top, top)
        else:
            if current is not None:
                lines.append(current)
            current = Line(number, char, left, right, bottom, top, size)
    if current is not None:
        lines.append(current)
    for line in lines:
        line.text = line.text.strip()
    return [line for line in lines if line.text]


def fields(lines: list[Line]) -> list[Field]:
    """Lines stacked at the line pitch, overlapping horizontally, as one field each."""
    result: list[Field] = []
    open_fields: list[Field] = []
    for line in sorted(lines, key=lambda one: (one.page, -one.top, one.left)):
        home = None
        for candidate in open_fields:
            last = candidate.lines[-1]
            gap = last.bottom - line.top
            overlap = min(last.right, line.right) - max(last.left, line.left)
            if (
                last.page == line.page
                and abs(last.size - line.size) < 0.1
                and -0.3 * line.size < gap < 0.35 * line.size
                and overlap > 0
            ):
                home = candidate
                break
        if home is None:
            home = Field()
            result.append(home)
            open_fields.append(home)
        home.lines.append(line)
        open_fields = [
            f for f in open_fields if f.lines[-1].page == line.page and f.lines[-1].bottom - line.top < 2 * line.size
        ]
    return result


_TAIL = re.compile(r"[0-9A-Za-z]$")
_HEAD = re.compile(r"^[0-9A-Za-z]")


def lone_character_lines(pdf: bytes) -> list[str]:
    """Lines of one ideograph (with its punctuation) that belong to a longer field."""
    found = []
    for f in fields(text_lines(pdf)):
        if len(f.lines) < 2:
            continue
        for line in f.lines:
            if line.ideographs == 1 and len(re.sub(r"\W", "", line.text)) == 1:
                found.append(f"p{line.page}: {f.text}")
    return found


def split_numbers(pdf: bytes) -> list[str]:
    """Fields where a number or a code (letters and digits, maybe joined by - / .) goes on
    over a line break."""
    found = []
    for f in fields(text_lines(pdf)):
        for upper, lower in zip(f.lines, f.lines[1:]):
            # A code: letters and digits, joined by - / . (11-1954/TQ, 1000-6613, 2016.12.20).
            tail = re.search(r"[0-9A-Za-z][0-9A-Za-z./-]*$", upper.text)
            if re.match(r"^\d+[.、．]\s", lower.text):
                continue  # the next item of a numbered list, not the rest of this line
            head = re.match(r"^[0-9A-Za-z./-]*[0-9A-Za-z]", lower.text)
            if tail and head and re.search(r"\d", tail.group() + head.group()):
                found.append(f"p{upper.page}: {f.text}")
    return found
