"""PDF hex strings read in one slice instead of one digit at a time.

pyHanko's parser reads a hex string ``<...>`` through a generator that takes one digit
per step. A seal's ``/Contents`` is such a string of about ten thousand digits, and it is
read each time a later seal, the document timestamp or a validation opens the signature
(pyHanko's certification check alone does so once per seal): a fifth of a two-seal
certificate's sealing time went there (``bench/results/batch.md``).

:func:`read_hex_string` takes the string in one slice when it holds hex digits and PDF
whitespace only, which is every string a PDF writer produces. Anything else (a comment, a
stray token, no closing ``>``) goes to pyHanko's own reader from the same position, so
that results and errors stay pyHanko's.
"""

from __future__ import annotations

import binascii
import re

from pyhanko.pdf_utils import generic

ORIGINAL = generic.read_hex_string_from_stream  # pyHanko's own
_WHITESPACE = b" \n\r\t\f\x00"  # pyhanko.pdf_utils.misc.PDF_WHITESPACE
_PLAIN = re.compile(rb"[0-9A-Fa-f \n\r\t\f\x00]*")
_FIRST, _CHUNK = 4096, 64 * 1024  # most hex strings are short (/ID); /Contents takes a second read
# No closing ">" this far (any real /Contents is far shorter): pyHanko's reader, which stops
# at the first bad digit. A hostile file full of unclosed strings then costs no more than
# it did, instead of each of them reading to the end of the file.
_LONGEST = 1024 * 1024


def read_hex_string(stream):
    """``<hex digits>`` at the stream's position, as pyHanko's reader returns it."""
    start = stream.tell()
    head = stream.read(_FIRST)
    parts, end = [head], head.find(b">")
    read = len(head)
    while end < 0 and read < _LONGEST:
        more = stream.read(_CHUNK)
        if not more:
            break
        end = more.find(b">")
        if end >= 0:
            end += read  # offset of this chunk in the string
        read += len(more)
        parts.append(more)
    data = b"".join(parts) if len(parts) > 1 else head
    if end < 0 or data[:1] != b"<" or not _PLAIN.fullmatch(data, 1, end):
        stream.seek(start)
        return ORIGINAL(stream)
    digits = data[1:end].translate(None, _WHITESPACE)
    stream.seek(start + end + 1)
    if len(digits) % 2:
        digits += b"0"  # an odd last digit is followed by 0 (ISO 32000-1, 7.3.4.3)
    return generic.pdf_string(binascii.unhexlify(digits))


def install() -> None:
    """Put :func:`read_hex_string` in pyHanko's object reader (idempotent)."""
    generic.read_hex_string_from_stream = read_hex_string
