"""Which characters a value may hold: what cannot be printed, and what prints as nothing.

Text is data that ends up on paper and in a registry that people search. A character
that prints as nothing (a zero-width space) or that reorders what follows (a
right-to-left override: ``\\u202e张三\\u202c`` prints as 三张) makes the paper say one
thing and the registry hold another, so that neither spelling finds the record.
Free text refuses what cannot be printed or reorders text; names, numbers and codes
refuse every invisible character too. What is accepted is NFC-normalised, so that the
same name typed on two systems is the same string.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls except tab and line breaks, DEL, C1 controls; lone surrogates (only a
# \\u escape or a spreadsheet cell can carry one); noncharacters (U+FDD0..U+FDEF and the
# last two code points of every plane).
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}" for plane in range(0, 0x110000, 0x10000))
    + "]"
)
# Explicit direction embeddings, overrides and isolates (UAX #9): they change the order
# in which the following characters print.
_REORDERING = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): code points a
# renderer draws as nothing (zero-width spaces and joiners, variation selectors, the
# BOM, Hangul fillers, tags), besides the format characters found by category below.
_DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
# In a name, number or code every character must show: no line breaks, no tabs, and
# no format, separator or private-use characters (a private-use glyph prints as a box).
# Unassigned code points are not refused: Python's Unicode tables may predate a new CJK
# extension that a name needs.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}

_NAMES = {
    "\t": "制表符",
    "\n": "换行符",
    "\r": "回车符",
    "\u00ad": "软连字符",
    "\u200b": "零宽空格",
    "\u200c": "零宽不连字",
    "\u200d": "零宽连字",
    "\u200e": "从左向右标记",
    "\u200f": "从右向左标记",
    "\u202a": "从左向右嵌入",
    "\u202b": "从右向左嵌入",
    "\u202c": "方向格式结束",
    "\u202d": "从左向右强制",
    "\u202e": "从右向左强制",
    "\u2060": "连接符",
    "\u2066": "从左向右隔离",
    "\u2067": "从右向左隔离",
    "\u2068": "方向隔离",
    "\u2069": "方向隔离结束",
    "\ufeff": "字节顺序标记（BOM）",
}


def describe(char: str) -> str:
    """``U+202E（从右向左强制）``: how a message names a character that cannot be shown."""
    code = f"U+{ord(char):04X}"
    if char in _NAMES:
        return f"{code}（{_NAMES[char]}）"
    if 0xD800 <= ord(char) <= 0xDFFF:
        return f"{code}（不成对的代理码元）"
    return code


def unprintable_in(value: str) -> str | None:
    """The first character of ``value`` that no text may hold, or None."""
    found = _UNPRINTABLE.search(value) or _REORDERING.search(value)
    return found.group(0) if found else None


def invisible_in(value: str) -> str | None:
    """The first character of ``value`` that a name, number or code may not hold, or None."""
    found = _DEFAULT_IGNORABLE.search(value)
    if found:
        return found.group(0)
    for char in value:
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES or _UNPRINTABLE.match(char):
            return char
    return None


def normalise(value: str) -> str:
    """NFC: composed characters, so that equal-looking names compare equal."""
    return unicodedata.normalize("NFC", value)
