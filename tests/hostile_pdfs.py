"""PDFs made to cost a reader memory: small files whose streams decode to gigabytes through
nested filters, are read again and again, or hide in object streams. Each is a few KB to
a few MB; built once per test session (the large ones take a second or two)."""

from __future__ import annotations

import functools
import zlib

from tests.pdfbuild import handmade_pdf

MB = 1024 * 1024


@functools.cache
def deflate_repeated(piece: bytes, total: int) -> bytes:
    """``piece`` repeated to at least ``total`` bytes, as a zlib stream, made in a moment:
    one self-contained deflate block sequence of about 1 MB (a full flush ends it on a
    byte, with no reference to what came before) written again and again."""
    block = piece * max(1, MB // len(piece))
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    unit = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    count = -(-total // len(block))
    checksum = 1
    for _ in range(count):
        checksum = zlib.adler32(block, checksum)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty last block
    return b"\x78\xda" + unit * count + final + checksum.to_bytes(4, "big")


def _stream(data: bytes, filters: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d /Filter %s %s>>\nstream\n" % (len(data), filters, extra) + data + b"\nendstream"


def _one_page(contents: bytes, *more: bytes, resources: bytes = b"") -> bytes:
    return handmade_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents "
            + contents
            + (b" /Resources " + resources if resources else b"")
            + b" >>",
            *more,
        ]
    )


@functools.cache
def nested_flate(levels: int = 2, inflated: int = 2048 * MB, filter_names: bytes | None = None) -> bytes:
    """One content stream, Flate inside Flate (``levels`` deep), inflating to ``inflated``."""
    data = deflate_repeated(b"\0", inflated)
    for _ in range(levels - 1):
        data = zlib.compress(data, 9)
    names = filter_names or b"[" + b" /FlateDecode" * levels + b" ]"
    return _one_page(b"4 0 R", _stream(data, names))


@functools.cache
def repeated_contents(stream_mb: int = 50, times: int = 3000) -> bytes:
    """Page 1's ``/Contents`` names one ``stream_mb`` content stream ``times`` times."""
    data = deflate_repeated(b"0 0 m 1 1 l S\n", stream_mb * MB)
    return _one_page(b"[" + b" 4 0 R" * times + b" ]", _stream(data, b"/FlateDecode"))


@functools.cache
def repeated_form(form_kb: int = 512, times: int = 20000) -> bytes:
    """A small page that paints one form XObject ``times`` times."""
    form = deflate_repeated(b"BT /F1 12 Tf 10 10 Td (x) Tj ET\n", form_kb * 1024)
    page = zlib.compress(b"/Fm Do\n" * times, 9)
    return _one_page(
        b"4 0 R",
        _stream(page, b"/FlateDecode"),
        _stream(form, b"/FlateDecode", b"/Type /XObject /Subtype /Form /BBox [0 0 10 10] "),
        resources=b"<< /XObject << /Fm 5 0 R >> >>",
    )


@functools.cache
def forms_fanning_out(depth: int = 12, fan: int = 8) -> bytes:
    """Form k paints form k+1 ``fan`` times: fan**depth uses of the last from a tiny file."""
    objects = []
    for level in range(depth):
        body = (b"/F%d Do\n" % (level + 1)) * fan if level + 1 < depth else b"0 0 m 1 1 l S\n" * 64
        resources = (
            b"/Resources << /XObject << /F%d %d 0 R >> >> " % (level + 1, 6 + level) if level + 1 < depth else b""
        )
        objects.append(
            _stream(zlib.compress(body), b"/FlateDecode", b"/Type /XObject /Subtype /Form /BBox [0 0 1 1] " + resources)
        )
    page = zlib.compress(b"/F0 Do\n")
    return _one_page(b"4 0 R", _stream(page, b"/FlateDecode"), *objects, resources=b"<< /XObject << /F0 5 0 R >> >>")


@functools.cache
def form_painting_itself() -> bytes:
    page = zlib.compress(b"/Fm Do\n")
    form = zlib.compress(b"/Fm Do /Fm Do\n")
    return _one_page(
        b"4 0 R",
        _stream(page, b"/FlateDecode"),
        _stream(
            form,
            b"/FlateDecode",
            b"/Type /XObject /Subtype /Form /BBox [0 0 1 1] /Resources << /XObject << /Fm 5 0 R >> >> ",
        ),
        resources=b"<< /XObject << /Fm 5 0 R >> >>",
    )


@functools.cache
def huge_object_stream(inflated: int = 1024 * MB) -> bytes:
    """An object stream (where a cross-reference stream would send a reader for its
    objects) that inflates to ``inflated``."""
    data = deflate_repeated(b" ", inflated)
    return _one_page(b"[]", _stream(data, b"/FlateDecode", b"/Type /ObjStm /N 1 /First 4 "))


@functools.cache
def one_stream_on_many_pages(pages: int = 3000, stream_mb: int = 2) -> bytes:
    """Every one of ``pages`` pages draws the same ``stream_mb`` content stream."""
    data = deflate_repeated(b"0 0 m 1 1 l S\n", stream_mb * MB)
    first_page = 4
    kids = b" ".join(b"%d 0 R" % (first_page + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        _stream(data, b"/FlateDecode"),
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 3 0 R >>"] * pages
    return handmade_pdf(objects)


@functools.cache
def fake_endstream(inflated: int = 1024 * MB) -> bytes:
    """A Flate stream whose data carries ``endstream`` in a stored block before the bomb,
    and a ``/Length`` that stops there: a scanner that trusts either stops early."""
    packer = zlib.compressobj(9)
    head = packer.compress(b"q\n") + packer.flush(zlib.Z_FULL_FLUSH)
    stored = zlib.compressobj(0)  # a stored (uncompressed) block: the text appears as is
    marker = stored.compress(b"\nendstream\nendobj\n") + stored.flush(zlib.Z_FULL_FLUSH)
    # the stored block's bytes inside our stream: replace the zlib header of the second object
    bomb = deflate_repeated(b"\0", inflated)[2:]  # the same stream's blocks go on
    data = head + marker[2:] + bomb
    dictionary = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % (len(head) + 4)
    return _one_page(b"4 0 R", dictionary + data + b"\nendstream")


@functools.cache
def stream_keywords_in_one_array(times: int = 30000) -> bytes:
    """Thousands of ``stream`` keywords inside one object's array: a scanner that reads the
    object again for each keyword spends minutes on 200 KB."""
    return b"%PDF-1.7\n1 0 obj\n<< /A [ " + b"stream\n" * times + b"] >>\nendobj\n%%EOF\n"


@functools.cache
def keyword_with_trailing_space(inflated: int = 1024 * MB) -> bytes:
    """A bomb whose ``stream`` keyword ends its line with a space and a comment, which
    lenient readers take."""
    data = deflate_repeated(b"\0", inflated)
    return _one_page(
        b"4 0 R", b"<< /Length %d /Filter /FlateDecode >>\nstream \t%%x\n" % len(data) + data + b"\nendstream"
    )


def huge_xref_index() -> bytes:
    return (
        b"%PDF-1.7\n1 0 obj\n<< /Type /XRef /Size 3 /W [1 2 1] /Index [0 200000000] /Root 2 0 R /Length 3 >>"
        b"\nstream\nabc\nendstream\nendobj\nstartxref\n9\n%%EOF\n"
    )


def a_million_objects() -> bytes:
    return b"%PDF-1.7\n" + b"1 0 obj " * 1_000_000


@functools.cache
def many_signature_fields(count: int = 300) -> bytes:
    fields = b" ".join(b"%d 0 R" % (4 + i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [" + fields + b"] >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    objects += [b"<< /FT /Sig /T (s%d) /Rect [0 0 1 1] /Subtype /Widget /P 3 0 R >>" % i for i in range(count)]
    return handmade_pdf(objects)


ALL = {
    "Flate in Flate, 2 GB": lambda: nested_flate(2),
    "Flate in Flate in Flate, 2 GB": lambda: nested_flate(3),
    "nested Flate under escaped and short names": lambda: nested_flate(2, filter_names=b"[/Fl#61teDecode /Fl]"),
    "one 50 MB stream named 3,000 times in /Contents": repeated_contents,
    "one 3 MB stream named 3,000 times in /Contents": lambda: repeated_contents(3),
    "a form XObject painted 20,000 times": repeated_form,
    "forms fanning out 8^12 times": forms_fanning_out,
    "a form that paints itself": form_painting_itself,
    "an object stream inflating to 1 GB": huge_object_stream,
    "one stream on 3,000 pages": one_stream_on_many_pages,
    "a fake endstream before the bomb": fake_endstream,
    "30,000 stream keywords in one array": stream_keywords_in_one_array,
    "a bomb whose stream keyword ends with a space": keyword_with_trailing_space,
    "a cross-reference stream announcing 200,000,000 objects": huge_xref_index,
    "a million object headers": a_million_objects,
    "300 signature fields": many_signature_fields,
}
