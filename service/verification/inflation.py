"""The budget of an uploaded PDF: every byte its streams decode to, counted before any
real parser (pyHanko, pdfium) touches it, and refused past the limits.

A few KB of Flate inside Flate inflate to gigabytes; pdfium (reading page 1's text) and
pyHanko (reading object streams) would decode them whole. So the raw file is scanned for
every ``stream`` keyword, wherever it is (a file with a broken cross-reference table is
rebuilt by pdfium from exactly such a scan), and each stream is decoded here through its
declared filter chain, one chunk at a time per stage, thrown away, and *charged*: every
stage's output counts against the stream's limit and the upload's budget (a
:class:`Meter`). Memory stays at a chunk per stage; time at what the budget allows.

Three ways around a per-stream cap are closed:
* nested filters (``[/FlateDecode /FlateDecode]``, names written ``/Fl#61teDecode`` or
  abbreviated ``/Fl``) are decoded stage by stage, each stage charged;
* a fake ``endstream`` inside the data does not end the stream: Flate runs to its own end
  whatever ``/Length`` says or the bytes look like;
* a stream drawn again and again (one content stream named 3,000 times in ``/Contents``,
  a form XObject painted in a loop) is charged each time: :mod:`.drawn` adds what page 1
  costs to draw once the streams are known to be bounded.
The filters that expand without Flate's bounds here (LZW, run-length) are refused: no
certificate of this service uses them.
"""

from __future__ import annotations

import base64
import bisect
import re
import zlib
from collections.abc import Iterator
from typing import NoReturn, cast

from service.errors import FieldError, InvalidInput
from service.verification.pdf_syntax import object_dictionary, object_headers

CHUNK = 1 << 16
MAX_STREAMS = 100_000  # stream keywords in one upload; a certificate has a few dozen
MAX_OBJECTS = 200_000  # object headers in one upload; a certificate has about fifty
# The keyword, then (as lenient readers take it) spaces, tabs, NULs or a comment before the
# end of its line; the data starts after that line end.
_STREAM = re.compile(rb"(?<!end)stream[ \t\x00]*(?:%[^\r\n]*)?(?:\r\n|\n|\r)")
_XREF_SUBSECTION = re.compile(rb"xref\s+(\d{1,12})\s+(\d{1,12})\s")
_ENDSTREAM = re.compile(rb"[\x00\t\n\x0c\r ]*endstream")
# Abbreviations pdfium accepts for the full names (PDF 32000-1 Table 94 uses them for inline
# images; readers take them everywhere).
_ALIASES = {
    "/Fl": "/FlateDecode",
    "/AHx": "/ASCIIHexDecode",
    "/A85": "/ASCII85Decode",
    "/LZW": "/LZWDecode",
    "/RL": "/RunLengthDecode",
    "/CCF": "/CCITTFaxDecode",
    "/DCT": "/DCTDecode",
}
_EXPANDING = {"/LZWDecode", "/RunLengthDecode"}
# Image codecs and encryption end the chain here: nothing in an upload check decodes images.
_TERMINAL = {"/DCTDecode", "/JPXDecode", "/CCITTFaxDecode", "/JBIG2Decode", "/Crypt"}


class Inflates(InvalidInput):
    pass


class Meter:
    """The upload's budget: bytes decoded per stream and in all, charged as they are made."""

    def __init__(self, max_stream: int, max_total: int):
        self.max_stream, self.max_total = max_stream, max_total
        self.total = 0

    def charge(self, count: int, stream_so_far: int) -> None:
        self.total += count
        if stream_so_far > self.max_stream:
            refuse(f"文件中有数据流解压后超过 {self.max_stream // 1048576} MB，疑似压缩炸弹，已拒绝")
        if self.total > self.max_total:
            refuse("文件内容过多：解压后的总大小超过上限，疑似压缩炸弹，已拒绝")


def check_inflation(pdf: bytes, max_stream: int, max_total: int) -> Meter:
    """Decode every stream of ``pdf`` once, charging a :class:`Meter` that is returned
    (for :mod:`.drawn` to charge further); ``Inflates`` (a 422) past a limit."""
    meter = Meter(max_stream, max_total)
    # Counted in C first: each object has its "obj" and "endobj"; far more is not a PDF
    # of this service's, and finding each header costs Python time.
    if pdf.count(b"obj") > 2 * MAX_OBJECTS:
        refuse(f"文件内容过多：对象超过 {MAX_OBJECTS} 个")
    headers = object_headers(pdf)
    if len(headers) > MAX_OBJECTS:
        refuse(f"文件内容过多：对象超过 {MAX_OBJECTS} 个")
    _check_xref_tables(pdf)
    dictionaries: dict[int, tuple[dict, int] | None] = {}  # header -> its dictionary, read once
    data_end = 0  # where the last stream whose extent every reader agrees on ends
    for count, keyword in enumerate(_STREAM.finditer(pdf)):
        if count >= MAX_STREAMS:
            refuse(f"文件内容过多：数据流超过 {MAX_STREAMS} 个")
        if keyword.start() < data_end:
            continue  # the bytes "stream" inside another stream's data: data, not syntax
        data_end = max(data_end, _charge_stream(pdf, headers, dictionaries, keyword, meter))
    return meter


def _charge_stream(pdf: bytes, headers: list[int], dictionaries: dict, keyword: re.Match, meter: Meter) -> int:
    """Decode one stream, charging ``meter``; where its data ends if its ``/Length`` is
    direct and lands on ``endstream`` (then every reader reads exactly those bytes), else 0."""
    index = bisect.bisect_right(headers, keyword.start()) - 1
    dictionary = None
    if index >= 0:
        header = headers[index]
        if header not in dictionaries:
            dictionaries[header] = object_dictionary(pdf, header)
        found = dictionaries[header]
        if found is not None and found[1] == keyword.start():
            dictionary = found[0]
    data_start = keyword.end()
    source = memoryview(pdf)[data_start:]
    if dictionary is None:
        # A keyword that is no object's (inside a string, garbage): decoded as nested
        # Flate for as long as it inflates, the worst a reader could make of it.
        _drain(_guess_nested_flate(_chunks(source), meter))
        return 0
    if dictionary.get("/Type") == "/XRef":
        _check_xref_stream(dictionary)
    chain = filter_chain(dictionary.get("/Filter"))
    length = dictionary.get("/Length")
    exact = isinstance(length, int) and 0 <= length and _ENDSTREAM.match(pdf, data_start + length) is not None
    exact_length: int | None = length if exact else None
    if exact_length is not None:
        source = source[:exact_length]
    _drain(decode_chain(_chunks(source), chain, meter))
    return data_start + exact_length if exact_length is not None else 0


def _check_xref_stream(dictionary: dict) -> None:
    """A cross-reference stream may not announce more objects than an upload may hold:
    a reader would walk every one (``/Index [0 200000000]`` in 143 bytes)."""
    size = dictionary.get("/Size")
    index = dictionary.get("/Index")
    counts = index[1::2] if isinstance(index, list) else []
    announced = max([size if isinstance(size, int) else 0, sum(c for c in counts if isinstance(c, int))])
    if announced > MAX_OBJECTS or any(not isinstance(c, int) or c < 0 for c in counts):
        refuse(f"文件结构异常：交叉引用表声明了 {announced} 个对象（上限 {MAX_OBJECTS}）")


def _check_xref_tables(pdf: bytes) -> None:
    """The same for classic cross-reference tables' subsections (``xref 0 200000000``)."""
    for match in _XREF_SUBSECTION.finditer(pdf):
        if int(match.group(2)) > MAX_OBJECTS:
            refuse(f"文件结构异常：交叉引用表声明了 {int(match.group(2))} 个对象（上限 {MAX_OBJECTS}）")


def filter_chain(spec) -> list[str]:
    """A stream's ``/Filter`` as full names; refused when it is not written out (an
    indirect ``/Filter`` cannot be followed before the file is parsed)."""
    if spec is None:
        return []
    names = spec if isinstance(spec, list) else [spec]
    if not all(isinstance(n, str) and n.startswith("/") for n in names):
        refuse("文件结构不受支持：数据流的压缩方式以间接引用给出")
    chain = [_ALIASES.get(n, n) for n in cast(list[str], names)]  # all names, just checked
    if any(n in _EXPANDING for n in chain):
        refuse("文件使用了本服务不接受的压缩方式（LZW 或游程编码）")
    return chain


def decode_chain(chunks: Iterator[bytes], chain: list[str], meter: Meter) -> Iterator[bytes]:
    """``chunks`` through each filter of ``chain`` in turn, each stage's output charged."""
    for name in chain:
        if name in _TERMINAL or name not in _STAGES:
            return iter(())  # not decoded by anything that reads an upload
        chunks = _metered(_STAGES[name](chunks), meter)
    return chunks


def _metered(chunks: Iterator[bytes], meter: Meter) -> Iterator[bytes]:
    produced = 0
    for chunk in chunks:
        produced += len(chunk)
        meter.charge(len(chunk), produced)
        yield chunk


def _chunks(data: memoryview) -> Iterator[bytes]:
    for offset in range(0, len(data), CHUNK):
        yield bytes(data[offset : offset + CHUNK])


def _drain(chunks: Iterator[bytes]) -> None:
    for _ in chunks:
        pass


def _inflate(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Flate to its own end (or to the first damage: readers stop there too)."""
    inflater = zlib.decompressobj()
    try:
        for chunk in chunks:
            pending = chunk
            while pending:
                out = inflater.decompress(pending, CHUNK)
                if out:
                    yield out
                if inflater.eof:
                    return
                pending = inflater.unconsumed_tail
    except zlib.error:
        return
    tail = inflater.flush()
    if tail:
        yield tail


def _ascii_hex(chunks: Iterator[bytes]) -> Iterator[bytes]:
    carry = b""
    for chunk in chunks:
        end = chunk.find(b">")
        digits = carry + re.sub(rb"[^0-9A-Fa-f]", b"", chunk if end < 0 else chunk[:end])
        cut = len(digits) - len(digits) % 2
        carry = digits[cut:]
        if cut:
            yield bytes.fromhex(digits[:cut].decode())
        if end >= 0:
            break
    if carry:
        yield bytes.fromhex((carry + b"0").decode())


def _ascii85(chunks: Iterator[bytes]) -> Iterator[bytes]:
    carry = b""
    for chunk in chunks:
        end = chunk.find(b"~>")
        text = carry + re.sub(rb"[\x00\t\n\x0c\r ]", b"", chunk if end < 0 else chunk[:end])
        text = text.replace(b"z", b"!!!!!")  # 'z' is four zero bytes
        cut = len(text) - len(text) % 5
        carry = text[cut:]
        if cut:
            yield _a85(text[:cut])
        if end >= 0:
            break
    if carry:
        yield _a85(carry)[: max(0, len(carry) - 1)]


def _a85(text: bytes) -> bytes:
    try:
        return base64.a85decode(text)
    except ValueError:
        return b""


_STAGES = {"/FlateDecode": _inflate, "/ASCIIHexDecode": _ascii_hex, "/ASCII85Decode": _ascii85}


def _guess_nested_flate(chunks: Iterator[bytes], meter: Meter) -> Iterator[bytes]:
    """Flate again on the output for as long as it begins like a zlib stream."""
    stream = _metered(_inflate(chunks), meter)
    for _ in range(8):
        first = next(stream, None)
        if first is None:
            return
        if not _looks_like_zlib(first):
            yield first
            yield from stream
            return
        stream = _metered(_inflate(_prepend(first, stream)), meter)
    refuse("文件结构异常：数据流层层压缩")


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _looks_like_zlib(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


def refuse(message: str) -> NoReturn:
    raise Inflates(message, errors=[FieldError("file", message, "inflation")])
