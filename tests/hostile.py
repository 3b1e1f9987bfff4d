"""Building blocks of the hostile-input corpus (tests/test_hostile_*.py): photos that are
not what they claim, bodies that break parsers, and the checks every refusal must pass."""

from __future__ import annotations

import base64
import functools
import gzip
import io
import random
import re
import struct
import zlib

from PIL import Image

CJK = re.compile("[\u4e00-\u9fff]")
# What a library says when its message leaks out untranslated.
ENGLISH_LEAKS = (
    "Input should",
    "Value error",
    "Field required",
    "There was an error",
    "JSON decode error",
    "Traceback",
    "Exception",
    "Expecting value",
)


def assert_clear_refusal(response, status: int, path: str | None = None, fragment: str | None = None) -> dict:
    """A refusal a clerk can act on: the status, every error in Chinese, the field named."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    body = response.json()
    assert CJK.search(body["message"]), body
    for error in body["errors"]:
        assert CJK.search(error["message"]), error
    assert not any(leak in response.text for leak in ENGLISH_LEAKS), response.text[:500]
    if path is not None:
        assert path in [e["path"] for e in body["errors"]], body
    if fragment is not None:
        assert fragment in response.text, body
    return body


# --- photos ---------------------------------------------------------------------


def noise_image(size=(300, 400), seed=1) -> Image.Image:
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_without_pixels(side=4000) -> bytes:
    """A PNG whose header says side × side but whose image data is empty."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )


def png_bomb(side=60000) -> bytes:
    """A decompression bomb: a grey side × side PNG, tiny on disk."""
    row = b"\x00" + b"\x00" * side
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush()  # its start is enough
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def truncated_jpeg_with_end_marker() -> bytes:
    """A JPEG cut in the middle of its pixels, with the end-of-image marker appended."""
    whole = encoded(noise_image(), "JPEG", quality=90)
    return whole[: len(whole) // 2] + b"\xff\xd9"


def jpeg_with_big_exif(size=60 * 1024) -> bytes:
    """A valid JPEG whose EXIF block (an ImageDescription) is about ``size`` bytes."""
    exif = Image.Exif()
    exif[0x010E] = "x" * size  # ImageDescription
    return encoded(noise_image(), "JPEG", exif=exif.tobytes())


def jpeg_with_looping_exif() -> bytes:
    """A JPEG whose EXIF IFD's next-IFD pointer points back to itself."""
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">H", 1) + struct.pack(">HHII", 0x0112, 3, 1, 6 << 16)
    tiff += struct.pack(">I", 8)  # next IFD: this one again
    app1 = b"Exif\x00\x00" + tiff
    jpeg = encoded(noise_image(), "JPEG")
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<image href="file:///etc/passwd"/></svg>'
)
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def gif() -> bytes:
    return encoded(noise_image((30, 40)), "GIF")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- bodies ---------------------------------------------------------------------


def nested(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


@functools.cache
def gzip_bomb(inflated: int = 200 * 1024 * 1024) -> bytes:
    """About 200 KB that inflate to ``inflated`` bytes of spaces."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as out:
        chunk = b" " * (1024 * 1024)
        for _ in range(inflated // len(chunk)):
            out.write(chunk)
    return buffer.getvalue()
