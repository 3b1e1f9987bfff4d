"""Just enough PDF syntax to read a stream's dictionary from raw bytes, as a damaged-file
reader (pdfium's rebuild, for one) would find it: ``N G obj << ... >> stream``.

Used by the upload budget (:mod:`service.verification.inflation`) before any real PDF
parser touches an upload, so it must never itself be the thing that a hostile file
makes slow: every read is bounded by the distance to the ``stream`` keyword it serves.
Names are decoded (``/Fl#61teDecode`` is ``/FlateDecode``), strings skipped with their
nesting and escapes, so that a ``>>`` or ``stream`` inside a string is not taken for
syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OBJ_HEADER = re.compile(rb"\d+\s+\d+\s+obj\b")
_OBJ = re.compile(rb"obj\b")
_BEFORE_OBJ = re.compile(rb"(\d+)\s+(\d+)\s+$")
_REGULAR = re.compile(rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]*")
_SPACE = re.compile(rb"(?:[\x00\t\n\x0c\r ]+|%[^\r\n]*)*")
_STRING_SPECIAL = re.compile(rb"[\\\\()]")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Ref:
    number: int
    generation: int


class SyntaxProblem(ValueError):
    """Not a dictionary this reader can follow; the caller decides what that means."""


class _Reader:
    def __init__(self, data: bytes, position: int, stop: int):
        self.data, self.position, self.stop = data, position, stop

    def skip_space(self) -> None:
        match = _SPACE.match(self.data, self.position, self.stop)
        assert match is not None  # the pattern matches nothing, and position never passes stop
        self.position = match.end()

    def peek(self, count: int = 1) -> bytes:
        return self.data[self.position : min(self.position + count, self.stop)]

    def value(self, depth: int = 0):
        if depth > 32:
            raise SyntaxProblem("nested too deep")
        self.skip_space()
        head = self.peek(2)
        if not head:
            raise SyntaxProblem("ends inside an object")
        if head == b"<<":
            return self.dictionary(depth)
        first = head[:1]
        if first == b"[":
            return self.array(depth)
        if first == b"/":
            return self.name()
        if first == b"(":
            return self.literal_string()
        if first == b"<":
            end = self.data.find(b">", self.position, self.stop)
            if end < 0:
                raise SyntaxProblem("hex string not closed")
            self.position = end + 1
            return b""
        return self.number_ref_or_keyword()

    def dictionary(self, depth: int) -> dict:
        self.position += 2
        items: list = []
        while True:
            self.skip_space()
            if self.peek(2) == b">>":
                self.position += 2
                break
            items.append(self.value(depth + 1))
        items = _fold_refs(items)
        if len(items) % 2:
            raise SyntaxProblem("dictionary with a key and no value")
        result: dict = {}
        for key, value in zip(items[::2], items[1::2], strict=True):
            if not isinstance(key, str) or not key.startswith("/"):
                raise SyntaxProblem("dictionary key is not a name")
            result[key] = value
        return result

    def array(self, depth: int) -> list:
        self.position += 1
        items: list = []
        while True:
            self.skip_space()
            if self.peek() == b"]":
                self.position += 1
                return _fold_refs(items)
            items.append(self.value(depth + 1))

    def name(self) -> str:
        start = self.position + 1
        match = _REGULAR.match(self.data, start, self.stop)
        assert match is not None  # the pattern matches nothing; "/" was read, so start <= stop
        end = self.position = match.end()
        raw = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), self.data[start:end])
        return "/" + raw.decode("latin-1")

    def literal_string(self) -> bytes:
        """Skipped, not decoded: only where it ends matters (nested parentheses, escapes)."""
        depth, position = 0, self.position
        while True:
            special = _STRING_SPECIAL.search(self.data, position, self.stop)
            if special is None:
                raise SyntaxProblem("string not closed")
            byte, position = special.group(), special.end()
            if byte == b"\\":
                position += 1
            elif byte == b"(":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    self.position = position
                    return b""

    def number_ref_or_keyword(self):
        token = self.token()
        if re.fullmatch(rb"[+-]?\d+", token):
            # "N G R" is folded by the array or dictionary reader; here only the number.
            return int(token)
        if re.fullmatch(rb"[+-]?(\d+\.\d*|\.\d+|\d+)", token):
            return float(token)
        if not token:
            raise SyntaxProblem(f"unexpected byte {self.peek()!r}")
        return token.decode("latin-1")

    def token(self) -> bytes:
        start = self.position
        match = _REGULAR.match(self.data, start, self.stop)
        assert match is not None  # the pattern matches nothing, and position never passes stop
        self.position = match.end()
        return self.data[start : self.position]


def _fold_refs(items: list) -> list:
    """``[1 0 R 2 0 R]`` read as numbers and keywords: fold each ``N G R`` into a :class:`Ref`."""
    folded: list = []
    for item in items:
        if item == "R" and len(folded) >= 2 and isinstance(folded[-1], int) and isinstance(folded[-2], int):
            generation, number = folded.pop(), folded.pop()
            folded.append(Ref(number, generation))
        else:
            folded.append(item)
    return folded


def object_headers(data: bytes) -> list[int]:
    """Where every ``N G obj`` starts, in order. (A pattern that starts with the digits
    tries every digit of a binary file; the keyword first is a hundred times faster.)"""
    headers = []
    for keyword in _OBJ.finditer(data):
        window_start = max(0, keyword.start() - 48)
        before = _BEFORE_OBJ.search(data, window_start, keyword.start())
        if before is not None:
            headers.append(before.start())
    return headers


MAX_DICTIONARY = 64 * 1024  # a stream's dictionary is a few hundred bytes; past this it is not read


def object_dictionary(data: bytes, header: int) -> tuple[dict, int] | None:
    """The dictionary that opens the object whose header (``N G obj``) starts at ``header``,
    and where what follows it (after whitespace) begins: a ``stream`` keyword there makes
    it a stream's dictionary. None when the object does not open with a dictionary that
    ends within :data:`MAX_DICTIONARY` bytes. Read once per object, whatever the number of
    ``stream`` keywords after it (a hostile file puts thousands inside one array)."""
    match = OBJ_HEADER.match(data, header)
    if match is None:
        return None
    reader = _Reader(data, match.end(), min(len(data), match.end() + MAX_DICTIONARY))
    try:
        reader.skip_space()
        if reader.peek(2) != b"<<":
            return None
        found = reader.dictionary(0)
        reader.skip_space()
    except SyntaxProblem:
        return None
    return found, reader.position
