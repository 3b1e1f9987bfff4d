"""Many rendered documents as one print file: their pages one after the other, each part
starting on a new sheet when printed duplex, written to the file as they arrive.

Each part is read (pyHanko's PDF reader, lazily, object by object) and its pages copied
with everything they draw: fonts, images and content streams go over byte for byte, under
new object numbers, and are written out at once; most dictionaries are copied as the file
writes them, only their references renumbered (``_PlainObjects``), the rest parsed. Only the object offsets, the page numbers
and the part being copied are held, so a run of 500 review forms costs what one form
costs in memory, whatever the file's size (bench/results/print.md).

What a page holds only as an annotation is drawn into the page (flattened): a visible
seal's appearance prints as it shows, and nothing is left pointing at the part's form
fields or signatures, which have no meaning in a print file.

The file carries the day given as its date and a digest of its bytes as its /ID, so the
same parts give the same file.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader


@dataclass(frozen=True)
class Part:
    title: str  # what the manifest calls it: an applicant's name, a certificate's number
    pdf: bytes


@dataclass(frozen=True)
class Placed:
    title: str
    first_page: int  # 1-based, counting from the first part's first page
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
    pages and blank pages the parts take. The front pages print their own numbers from the
    first part on (as a book numbers its body after the front matter), so their length
    never moves anything."""
    if duplex and blank_page is None:
        raise ValueError("duplex needs a blank page")
    placed: list[Placed] = []
    kids: list[int] = []
    blanks = 0
    with target.open("wb") as handle:
        out = _Output(handle)
        pages_ref = out.reserve()
        blank_body: bytes | None = None

        def pad() -> None:
            nonlocal blank_body, blanks
            assert blank_page is not None
            if blank_body is None:  # copied once; every blank verso after draws the same objects
                [(number, blank_body)] = _copy_pages(out, blank_page, pages_ref)
                kids.append(number)
            else:
                number = out.reserve()
                out.put(number, blank_body)
                kids.append(number)
            blanks += 1

        for part in parts:
            copied = _copy_pages(out, part.pdf, pages_ref)
            padded = duplex and len(copied) % 2 == 1
            placed.append(Placed(part.title, len(kids) + 1, len(copied), padded))
            kids.extend(number for number, _ in copied)
            if padded:
                pad()
        body = kids
        if front is not None:
            body, kids = kids, []
            kids.extend(number for number, _ in _copy_pages(out, front(placed, len(body), blanks), pages_ref))
            if duplex and len(kids) % 2 == 1:
                pad()
            kids.extend(body)
        out.finish(pages_ref, kids, day)
    return Assembled(tuple(placed), len(kids), blanks)


class _Output:
    """The file being written: where each object starts, and a digest of every byte."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._digest = hashlib.sha256()
        self._at = 0
        self._offsets: list[int] = []
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self._handle.write(data)
        self._digest.update(data)
        self._at += len(data)

    def reserve(self) -> int:
        self._offsets.append(-1)
        return len(self._offsets)

    def put(self, number: int, body: bytes) -> None:
        self._offsets[number - 1] = self._at
        self._write(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    def finish(self, pages_ref: int, kids: list[int], day: date) -> None:
        refs = b" ".join(b"%d 0 R" % k for k in kids)
        self.put(pages_ref, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids)))
        root = self.reserve()
        self.put(root, b"<< /Type /Catalog /Pages %d 0 R >>" % pages_ref)
        info = self.reserve()
        self.put(info, b"<< /CreationDate (D:%s000000+08'00') >>" % day.strftime("%Y%m%d").encode())
        missing = [n + 1 for n, at in enumerate(self._offsets) if at < 0]
        if missing:
            raise RuntimeError(f"objects reserved and never written: {missing[:5]}")
        identity = self._digest.hexdigest()[:32].upper().encode()
        table = self._at
        lines = [b"xref\n0 %d\n0000000000 65535 f \n" % (len(self._offsets) + 1)]
        lines.extend(b"%010d 00000 n \n" % at for at in self._offsets)
        lines.append(
            b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(self._offsets) + 1, root, info, identity, identity, table)
        )
        self._write(b"".join(lines))


# What a page may take from its ancestors in the page tree (ISO 32000-1, 7.7.3.4).
_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
_HIDDEN, _PRINT = 2, 4  # annotation flags


def _copy_pages(out: _Output, pdf: bytes, pages_ref: int) -> list[tuple[int, bytes]]:
    """Every page of ``pdf`` written to ``out`` with what it draws; → (number, body) of each
    page in order."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    pages = list(_walk(reader.root.raw_get("/Pages"), {}))
    numbers: dict[tuple[int, int], int] = {}
    queue: deque[generic.IndirectObject] = deque()
    plain = _PlainObjects(pdf, reader)

    def number_of(ref: generic.IndirectObject) -> int:
        key = (ref.idnum, ref.generation)
        found = numbers.get(key)
        if found is None:
            found = numbers[key] = out.reserve()
            queue.append(ref)
        return found

    # The pages are numbered first, so that a link to one of them finds its copy.
    page_numbers = []
    for ref, _, _ in pages:
        key = (ref.idnum, ref.generation)
        numbers[key] = out.reserve()
        page_numbers.append(numbers[key])
    written = []
    for (_, page, inherited), number in zip(pages, page_numbers, strict=True):
        body = _serialise(_page_for_print(page, inherited, pages_ref, out, number_of), number_of)
        out.put(number, body)
        written.append((number, body))
    while queue:
        ref = queue.popleft()
        raw = plain.body(ref)
        if raw is not None:  # plain (see below): copied as written
            text, data = raw
            body = _TOKEN.sub(lambda m: _renumbered(m, reader, number_of), text)
            out.put(number_of(ref), body if data is None else b"%s\nstream\n%s\nendstream" % (body, data))
            continue
        obj = ref.get_object()
        if isinstance(obj, generic.DictionaryObject) and _get(obj, "/Type") in ("/Page", "/Pages"):
            # Reached by a stray reference (a form field's /P, an outline): not a page of this copy.
            out.put(number_of(ref), b"null")
        else:
            out.put(number_of(ref), _serialise(obj, number_of))
    return written


# An object whose text holds no stream, comment, page dictionary or string with nested
# parentheses is numbers, names, brackets, simple strings and references: nearly every
# object of a part outside its streams (a font's glyph widths and descriptor, the
# resources), which cost 16 ms a certificate to parse object by object. Such an object is
# copied as the file writes it, its references renumbered where the syntax puts them: two
# integers and R after whitespace or a delimiter (a digit ending a name, /F1, is none),
# never inside a string (the scan takes each string whole before looking in it).
_OBJECT_HEAD = re.compile(rb"\s*(\d+)\s+(\d+)\s+obj\b")
_END_OR_STREAM = re.compile(rb"\b(?:endobj|stream)\b")
_STRING = rb"\((?:[^()\\]|\\.)*\)|<[0-9A-Fa-f\s]*>"
_STRINGS = re.compile(_STRING)
_NOT_PLAIN = re.compile(rb"[()<>%]|\b(?:end)?stream\b|/Type\s*/(?:Pages?|ObjStm|XRef)\b")
_DELIMITED = rb"(?<![^\s\[\]<>{}()])"
_TOKEN = re.compile(rb"(" + _STRING + rb")|" + _DELIMITED + rb"(\d+)\s+(\d+)\s+R(?![^\s\[\]<>{}()/%])")
_PLAIN_MAX = 1 << 20  # bigger than any such object's text: a guard, not a limit
_LENGTH = re.compile(rb"/Length\s+(\d+)(?:\s+(\d+)\s+R)?")
_ENDSTREAM = re.compile(rb"\s*endstream\b")


class _PlainObjects:
    """The bodies of a part's plain objects (see above), as the file writes them: at their
    offset, or in their object stream (decoded once per stream)."""

    def __init__(self, pdf: bytes, reader: PdfFileReader) -> None:
        self._pdf, self._reader = pdf, reader
        self._streams: dict[int, dict[int, bytes]] = {}

    def body(self, ref: generic.IndirectObject) -> tuple[bytes, bytes | None] | None:
        """(its dictionary or other text, its stream's data as stored or None), or None:
        not plain, parse it."""
        at = self._reader.xrefs[ref.reference]
        found: tuple[bytes, bytes | None] | None = None
        if isinstance(at, int):
            found = self._at(at, ref)
        elif at is not None and ref.generation == 0:
            member = self._members(at.obj_stream_id).get(ref.idnum)
            found = (member, None) if member is not None else None
        if found is None or not found[0]:
            return None
        rest = _STRINGS.sub(b"", found[0]).replace(b"<<", b"").replace(b">>", b"")
        return found if _NOT_PLAIN.search(rest) is None else None

    def _at(self, at: int, ref: generic.IndirectObject) -> tuple[bytes, bytes | None] | None:
        pdf = self._pdf
        head = _OBJECT_HEAD.match(pdf, at)
        if head is None or (int(head[1]), int(head[2])) != (ref.idnum, ref.generation):
            return None
        end = _END_OR_STREAM.search(pdf, head.end(), head.end() + _PLAIN_MAX)
        if end is None:
            return None
        text = pdf[head.end() : end.start()].strip()
        if end[0] == b"endobj":
            return text, None
        # A stream: its data, /Length bytes after the keyword's end of line (CR LF or LF),
        # then endstream; anything else (a length that does not fit) is parsed instead.
        start = end.end() + (2 if pdf[end.end() : end.end() + 2] == b"\r\n" else 1)
        length = self._length(text)
        if length is None or _ENDSTREAM.match(pdf, start + length) is None:
            return None
        return text, pdf[start : start + length]

    def _length(self, text: bytes) -> int | None:
        found = _LENGTH.search(text)
        if found is None:
            return None
        if found[2] is None:
            return int(found[1])
        value = generic.Reference(int(found[1]), int(found[2]), self._reader).get_object()
        return int(value) if isinstance(value, generic.NumberObject) else None

    def _members(self, stream_id: int) -> dict[int, bytes]:
        found = self._streams.get(stream_id)
        if found is None:
            found = self._streams[stream_id] = self._read_stream(stream_id)
        return found

    def _read_stream(self, stream_id: int) -> dict[int, bytes]:
        """ISO 32000-1, 7.5.7: /N pairs (object number, offset from /First), then the objects."""
        try:
            stream = generic.Reference(stream_id, 0, self._reader).get_object()
            if not isinstance(stream, generic.StreamObject) or _get(stream, "/Type") != "/ObjStm":
                return {}
            data, first, count = stream.data, int(stream["/First"]), int(stream["/N"])
        except (ValueError, TypeError, KeyError, PdfError):
            return {}
        numbers = [int(n) for n in data[:first].split()]
        if len(numbers) != 2 * count:
            return {}
        starts = [first + numbers[2 * i + 1] for i in range(count)] + [len(data)]
        return {numbers[2 * i]: data[starts[i] : starts[i + 1]].strip() for i in range(count)}


def _renumbered(
    match: re.Match[bytes], reader: PdfFileReader, number_of: Callable[[generic.IndirectObject], int]
) -> bytes:
    if match[1] is not None:
        return match[1]  # a string, as it is
    return b"%d 0 R" % number_of(generic.IndirectObject(int(match[2]), int(match[3]), reader))


def _walk(
    ref: generic.PdfObject, inherited: dict[str, generic.PdfObject], depth: int = 0
) -> Iterator[tuple[generic.IndirectObject, generic.DictionaryObject, dict[str, generic.PdfObject]]]:
    node = ref.get_object()
    if not isinstance(node, generic.DictionaryObject) or depth > 32:
        return
    if _get(node, "/Type") == "/Page" or "/Kids" not in node:
        if isinstance(ref, generic.IndirectObject):
            yield ref, node, inherited
        return
    here = {**inherited, **{key: node.raw_get(key) for key in _INHERITED if key in node}}
    for kid in node["/Kids"]:
        yield from _walk(kid, here, depth + 1)


def _page_for_print(
    page: generic.DictionaryObject,
    inherited: dict[str, generic.PdfObject],
    pages_ref: int,
    out: _Output,
    number_of: Callable[[generic.IndirectObject], int],
) -> generic.DictionaryObject:
    """The page as it is copied: under the new page tree, with what it inherited written
    on it, and its printable form fields drawn into its content."""
    copy = generic.DictionaryObject()
    for key, value in dict.items(page):
        if key not in ("/Parent", "/Annots"):
            copy[key] = value
    for key, value in inherited.items():
        copy.setdefault(generic.NameObject(key), value)
    copy[generic.NameObject("/Parent")] = _Ref(pages_ref)
    kept: list[generic.PdfObject] = []
    drawn: list[tuple[generic.PdfObject, list[Decimal]]] = []
    annots = _get(page, "/Annots")
    for annot_ref in annots if isinstance(annots, generic.ArrayObject) else []:
        annot = annot_ref.get_object()
        if not isinstance(annot, generic.DictionaryObject):
            continue
        if _get(annot, "/Subtype") != "/Widget":
            kept.append(annot_ref)
            continue
        appearance = _printed_appearance(annot)
        if appearance is not None:
            drawn.append((appearance, [Decimal(str(v)) for v in annot["/Rect"]]))
    if kept:
        copy[generic.NameObject("/Annots")] = generic.ArrayObject(kept)
    if drawn:
        _draw_into(copy, drawn, out)
    return copy


def _printed_appearance(annot: generic.DictionaryObject) -> generic.PdfObject | None:
    flag_value = _get(annot, "/F")
    flags = int(flag_value) if isinstance(flag_value, generic.NumberObject) else 0
    if flags & _HIDDEN or not flags & _PRINT or "/AP" not in annot or "/Rect" not in annot:
        return None
    normal = annot["/AP"].raw_get("/N") if "/N" in annot["/AP"] else None
    if normal is None:
        return None
    resolved = normal.get_object()
    if isinstance(resolved, generic.StreamObject):
        return normal
    state = _get(annot, "/AS")
    if isinstance(resolved, generic.DictionaryObject) and isinstance(state, generic.NameObject) and state in resolved:
        return resolved.raw_get(state)
    return None


def _draw_into(
    page: generic.DictionaryObject,
    drawn: list[tuple[generic.PdfObject, list[Decimal]]],
    out: _Output,
) -> None:
    """Each appearance painted where its annotation sat (ISO 32000-1, 12.5.5: its box,
    through its matrix, mapped onto the annotation's rectangle), after the page's own
    content, which is wrapped in q … Q so that it cannot leave the state changed."""
    resources = _raw_copy(_get(page, "/Resources"))
    xobjects = _raw_copy(_get(resources, "/XObject"))
    ops = [b"Q"]
    for index, (appearance, rect) in enumerate(drawn):
        name = f"/ZcPrinted{index}"
        xobjects[generic.NameObject(name)] = appearance
        ops.append(b"q %s cm %s Do Q" % (_matrix(appearance.get_object(), rect), name.encode()))
    resources[generic.NameObject("/XObject")] = xobjects
    page[generic.NameObject("/Resources")] = resources
    raw = dict.get(page, "/Contents")
    contents = raw.get_object() if raw is not None else None
    if isinstance(contents, generic.ArrayObject):
        streams: list[generic.PdfObject] = list(list.__iter__(contents))
    else:
        streams = [raw] if raw is not None else []
    before, after = out.reserve(), out.reserve()
    out.put(before, _stream(b"q\n"))
    out.put(after, _stream(b"\n" + b"\n".join(ops) + b"\n"))
    page[generic.NameObject("/Contents")] = generic.ArrayObject([_Ref(before), *streams, _Ref(after)])


def _get(d: generic.DictionaryObject, key: str) -> generic.PdfObject | None:
    """``d[key]`` resolved, or None (``DictionaryObject.get`` gives the reference itself)."""
    return d[key] if key in d else None


def _raw_copy(value: generic.PdfObject | None) -> generic.DictionaryObject:
    """A dictionary's entries as they are written (references left unresolved: a stream
    must stay an indirect object), in a new dictionary that can be added to."""
    if not isinstance(value, generic.DictionaryObject):
        return generic.DictionaryObject()
    return generic.DictionaryObject(dict(dict.items(value)))


def _matrix(form: generic.PdfObject, rect: list[Decimal]) -> bytes:
    assert isinstance(form, generic.DictionaryObject)
    box = _numbers(_get(form, "/BBox"), (0, 0, 1, 1))
    matrix = _numbers(_get(form, "/Matrix"), (1, 0, 0, 1, 0, 0))
    a, b, c, d, e, f = matrix
    corners = [(x * a + y * c + e, x * b + y * d + f) for x in (box[0], box[2]) for y in (box[1], box[3])]
    x0, x1 = min(p[0] for p in corners), max(p[0] for p in corners)
    y0, y1 = min(p[1] for p in corners), max(p[1] for p in corners)
    r0, r1 = min(rect[0], rect[2]), max(rect[0], rect[2])
    s0, s1 = min(rect[1], rect[3]), max(rect[1], rect[3])
    sx = (r1 - r0) / (x1 - x0) if x1 != x0 else Decimal(1)
    sy = (s1 - s0) / (y1 - y0) if y1 != y0 else Decimal(1)
    values = (sx, Decimal(0), Decimal(0), sy, r0 - x0 * sx, s0 - y0 * sy)
    return b" ".join(_number(v) for v in values)


def _numbers(value: generic.PdfObject | None, default: tuple[int, ...]) -> list[Decimal]:
    items = list(value) if isinstance(value, generic.ArrayObject) and len(value) == len(default) else default
    return [Decimal(str(v)) for v in items]


def _number(value: Decimal) -> bytes:
    text = f"{value.quantize(Decimal('0.0001')):f}".rstrip("0").rstrip(".")
    return (text if text not in ("", "-0") else "0").encode()


def _stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(data), data)


class _Ref(generic.PdfObject):
    """A reference to an object of the file being written (not of the part being read)."""

    def __init__(self, number: int) -> None:
        self.number = number


def _serialise(obj: generic.PdfObject, number_of: Callable[[generic.IndirectObject], int]) -> bytes:
    buffer = io.BytesIO()
    _write(obj, buffer, number_of)
    return buffer.getvalue()


def _write(obj: generic.PdfObject, out: io.BytesIO, number_of: Callable[[generic.IndirectObject], int]) -> None:
    if isinstance(obj, _Ref):
        out.write(b"%d 0 R" % obj.number)
    elif isinstance(obj, generic.IndirectObject):
        out.write(b"%d 0 R" % number_of(obj))
    elif isinstance(obj, generic.StreamObject):
        data = obj.encoded_data
        out.write(b"<<")
        for key, value in dict.items(obj):
            if key != "/Length":
                _entry(key, value, out, number_of)
        out.write(b" /Length %d >>\nstream\n" % len(data))
        out.write(data)
        out.write(b"\nendstream")
    elif isinstance(obj, generic.DictionaryObject):
        out.write(b"<<")
        for key, value in dict.items(obj):
            _entry(key, value, out, number_of)
        out.write(b" >>")
    elif isinstance(obj, generic.ArrayObject):
        out.write(b"[")
        for index, item in enumerate(list.__iter__(obj)):
            if index:
                out.write(b" ")
            _write(item, out, number_of)
        out.write(b"]")
    else:
        obj.write_to_stream(out)


def _entry(
    key: generic.NameObject,
    value: generic.PdfObject,
    out: io.BytesIO,
    number_of: Callable[[generic.IndirectObject], int],
) -> None:
    out.write(b" ")
    key.write_to_stream(out)
    out.write(b" ")
    _write(value, out, number_of)
