"""Uploaded PDFs that would inflate past what the service will decode: refused before
any parser touches them.

A 1 MB stream of zeros inflates to 1 GB; pdfium (reading page 1's text) and pyHanko
(reading object streams) would decode it whole. So every stream of an upload is inflated
here first, a chunk at a time and thrown away, counting: past the per-stream or the
per-upload limit the upload is refused. Memory stays at one chunk; time at what the
limits allow (~0.3 s per 256 MB). Streams that are not Flate-compressed inflate to
nothing here; the filters that can expand without Flate (LZW, run-length) are refused:
no certificate of this service uses them.
"""

from __future__ import annotations

import re
import zlib

from service.errors import FieldError, InvalidInput

CHUNK = 1 << 16
_STREAM = re.compile(rb"stream\r?\n")
_END = re.compile(rb"endstream")
_EXPANDING_FILTERS = re.compile(rb"/(LZWDecode|RunLengthDecode)\b")


class Inflates(InvalidInput):
    pass


def check_inflation(pdf: bytes, max_stream: int, max_total: int) -> int:
    """The bytes all Flate streams of ``pdf`` inflate to; ``Inflates`` (a 422) past a limit."""
    if _EXPANDING_FILTERS.search(pdf):
        _refuse("文件使用了本服务不接受的压缩方式（LZW 或游程编码）")
    total = 0
    position = 0
    while True:
        start = _STREAM.search(pdf, position)
        if start is None:
            return total
        end = _END.search(pdf, start.end())
        stop = end.start() if end else len(pdf)
        inflated = _inflated_size(memoryview(pdf)[start.end():stop], max_stream, max_total - total)
        total += inflated
        position = end.end() if end else len(pdf)


def _inflated_size(data: memoryview, max_stream: int, room: int) -> int:
    inflater = zlib.decompressobj()
    size = 0
    pending = bytes(data[:CHUNK])
    offset = CHUNK
    try:
        while pending:
            out = inflater.decompress(pending, CHUNK)
            size += len(out)
            if _EXPANDING_FILTERS.search(out):  # inside an object stream
                _refuse("文件使用了本服务不接受的压缩方式（LZW 或游程编码）")
            if size > max_stream:
                _refuse(f"文件中有数据流解压后超过 {max_stream // 1048576} MB，疑似压缩炸弹，已拒绝")
            if size > room:
                _refuse("文件解压后的总大小超过上限，疑似压缩炸弹，已拒绝")
            pending = inflater.unconsumed_tail
            if not pending and not inflater.eof:
                pending = bytes(data[offset:offset + CHUNK])
                offset += CHUNK
            if inflater.eof:
                break
    except zlib.error:
        pass  # not Flate (an image, plain text) or damaged: nothing more inflates from it
    return size


def _refuse(message: str) -> None:
    raise Inflates(message, errors=[FieldError("file", message, "inflation")])
