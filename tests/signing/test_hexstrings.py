"""The one-slice hex-string reader answers exactly as pyHanko's own: same string, same
position after it, same error, whatever surrounds it."""

from __future__ import annotations

from io import BytesIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic

from service.signing import hexstrings

HEXISH = st.sampled_from(list(b"0123456789abcdefABCDEF \n\r\t\f\x00%>g<"))


def _outcome(reader, data: bytes, start: int):
    stream = BytesIO(data)
    stream.seek(start)
    try:
        value = reader(stream)
    except Exception as exc:  # noqa: BLE001 - the error itself is what is compared
        return ("error", type(exc).__name__, str(exc))
    return ("ok", type(value).__name__, bytes(value.original_bytes), stream.tell())


@settings(max_examples=400, deadline=None)
@given(prefix=st.binary(max_size=8), body=st.lists(HEXISH, max_size=60).map(bytes), suffix=st.binary(max_size=12))
def test_same_answer_as_pyhanko(prefix, body, suffix):
    data = prefix + b"<" + body + suffix
    assert _outcome(hexstrings.read_hex_string, data, len(prefix)) == _outcome(hexstrings.ORIGINAL, data, len(prefix))


@pytest.mark.parametrize(
    "text, expected",
    [
        (b"<48656C6C6F>", b"Hello"),
        (b"<48 65\n6c\t6C 6f>", b"Hello"),
        (b"<901FA>", b"\x90\x1f\xa0"),  # odd: a final 0
        (b"<>", b""),
    ],
)
def test_known_strings(text, expected):
    stream = BytesIO(text + b" /Next")
    assert bytes(hexstrings.read_hex_string(stream).original_bytes) == expected
    assert stream.read() == b" /Next"


def test_a_contents_sized_string_longer_than_one_read():
    digits = bytes(range(256)).hex().encode() * 200  # 102,400 digits: several reads
    stream = BytesIO(b"<" + digits + b">rest")
    assert bytes(hexstrings.read_hex_string(stream).original_bytes) == bytes(range(256)) * 200
    assert stream.read() == b"rest"


def test_installed_into_pyhankos_object_reader():
    import service.signing.seal  # noqa: F401 - installs the reader

    assert generic.read_hex_string_from_stream is hexstrings.read_hex_string
    value = generic.read_object(BytesIO(b"<414243>"), None)
    assert bytes(value.original_bytes) == b"ABC"


def test_an_unclosed_string_is_not_read_to_the_end_of_the_file(monkeypatch):
    """Past the longest plausible string, pyHanko's reader takes over (and stops at the
    first bad digit): a file of many unclosed strings costs what it did."""
    reads = []
    data = b"<" + b"0" * (3 * hexstrings._LONGEST) + b"zz>"

    class Counting(BytesIO):
        def read(self, size=-1):
            chunk = super().read(size)
            if size != 1:
                reads.append(len(chunk))
            return chunk

    assert _outcome(hexstrings.read_hex_string, data, 0)[0] == "error"
    stream = Counting(data)
    with pytest.raises(Exception):  # noqa: B017 - whatever pyHanko's own reader raises there
        hexstrings.read_hex_string(stream)
    assert sum(reads) <= hexstrings._LONGEST + 64 * 1024
