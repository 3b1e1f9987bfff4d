"""Many rendered documents as one print file: their pages one after the other, each part
starting on a new sheet when printed duplex, saved to a file once all are in.

pdfium (the same library that rasterises previews) copies the pages: fonts, images and
content streams go over as they are, so a part costs what its own file costs, and the
copy never lays anything out again. The parts arrive one at a time (a generator), but the
document being built holds every page copied so far until it is saved: about three times
the file's size (bench/results/print.md: 895 MB at the peak for 500 review forms, over the
600 MB target; writing it in pieces is still to do).

pdfium stamps a new file with the clock (/CreationDate) and a random /ID; both are
rewritten in place, at the same length, from the date given and a digest of the bytes,
so the same parts give the same file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium


@dataclass(frozen=True)
class Part:
    title: str  # what the manifest calls it: an applicant's name, a certificate's number
    pdf: bytes


@dataclass(frozen=True)
class Placed:
    title: str
    first_page: int  # 1-based, in the whole file
    pages: int  # the part's own pages
    padded: bool  # a blank verso follows it (duplex)


@dataclass(frozen=True)
class Assembled:
    parts: tuple[Placed, ...]
    pages: int  # in the whole file, blanks and the manifest included
    blanks: int


def assemble(
    parts: Iterable[Part],
    target: Path,
    *,
    day: date,
    duplex: bool = False,
    blank_page: bytes | None = None,
    front: Callable[[list[Placed], int, int], bytes] | None = None,
) -> Assembled:
    """Write ``parts`` to ``target`` as one PDF. ``duplex``: a part of an odd number of pages
    is followed by ``blank_page`` (one page), so that every part starts on a recto.
    ``front(placed, pages, blanks)`` → PDF bytes of pages put before the parts (a manifest),
    told where each part landed, counting from the first part's first page, and how many
    pages and blank pages the parts take."""
    if duplex and blank_page is None:
        raise ValueError("duplex needs a blank page")
    document = pdfium.PdfDocument.new()
    blank = pdfium.PdfDocument(blank_page) if blank_page is not None else None
    placed: list[Placed] = []
    blanks = 0
    try:
        for part in parts:
            source = pdfium.PdfDocument(part.pdf)
            try:
                count = len(source)
                first = len(document) + 1
                document.import_pages(source)
            finally:
                source.close()
            padded = duplex and count % 2 == 1
            if padded:
                assert blank is not None
                document.import_pages(blank)
                blanks += 1
            placed.append(Placed(part.title, first, count, padded))
        if front is not None:
            placed, blanks = _put_in_front(document, placed, blanks, front, duplex, blank)
        with target.open("wb") as out:
            document.save(out)
        total = len(document)
    finally:
        if blank is not None:
            blank.close()
        document.close()
    _settle_stamps(target, day)
    return Assembled(tuple(placed), total, blanks)


def _put_in_front(
    document: pdfium.PdfDocument,
    placed: list[Placed],
    blanks: int,
    front: Callable[[list[Placed], int, int], bytes],
    duplex: bool,
    blank: pdfium.PdfDocument | None,
) -> tuple[list[Placed], int]:
    """The front pages, rendered once: the page numbers they print count from the first
    part (as a book numbers its body after the front matter), so their own length never
    moves them (a manifest of 2,000 certificates runs to 50 pages and takes seconds to lay out)."""
    pdf = front(placed, len(document), blanks)
    source = pdfium.PdfDocument(pdf)
    try:
        count = len(source)
        document.import_pages(source, index=0)
    finally:
        source.close()
    if duplex and count % 2 == 1:
        assert blank is not None
        document.import_pages(blank, index=count)
        blanks += 1
    return placed, blanks


_CREATED = re.compile(rb"/CreationDate\(D:[^)]*\)")
_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*\]")
_HEAD, _TAIL = 64 * 1024, 4096  # pdfium writes /Info among the first objects, /ID in the trailer


def _settle_stamps(target: Path, day: date) -> None:
    """The clock's date and the random /ID replaced in place, each at its own length: the
    file is read once for the digest, never held whole."""
    size = target.stat().st_size
    with target.open("r+b") as out:
        head = out.read(_HEAD)
        created = _CREATED.search(head)
        if created is not None:
            stamp = f"/CreationDate(D:{day:%Y%m%d}000000+08'00')".encode()
            if len(stamp) <= len(created.group(0)):
                out.seek(created.start())
                out.write(stamp.ljust(len(created.group(0)), b" "))
        tail_at = max(0, size - _TAIL)
        out.seek(tail_at)
        found = _ID.search(out.read())
        if found is None:
            return
        digest = hashlib.sha256()
        out.seek(0)
        remaining = tail_at + found.start()
        while remaining > 0:
            chunk = out.read(min(remaining, 1 << 20))
            digest.update(chunk)
            remaining -= len(chunk)
        width = len(found.group(1))
        value = digest.hexdigest().upper()[:width].ljust(width, "0").encode()
        for group in (1, 2):
            out.seek(tail_at + found.start(group))
            out.write(value[: found.end(group) - found.start(group)])
