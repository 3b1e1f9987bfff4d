"""Fitting text into a fixed box: Chinese line breaking (禁则) and the largest font size that fits.

Pure, measured with the shipped font's advance widths (service.documents.tabular.Advances),
so that a layout can guarantee that no value overflows its box.
"""

from __future__ import annotations

import re

from service.documents.tabular import PT_MM, Advances

LINE_HEIGHT = 1.25
FIT_STEP_PT = 0.25
# Pango places glyphs on a 1/1024 pt grid: a hair of room keeps rounding from
# pushing a line measured to fit past its box.
SLACK_MM = 0.3

# Chinese line-breaking rules (禁则): closing punctuation never starts a line,
# opening punctuation never ends one.
_CLOSING = frozenset("，。、；：？！）］｝〕】》」』”’…—·％‰,.;:?!)]}%")
_OPENING = frozenset("（［｛〔【《「『“‘([{")
_TOKEN = re.compile(r"[A-Za-z0-9]+|\s+|.", re.DOTALL)


def _tokens(text: str) -> list[str]:
    """Unbreakable pieces: Latin words and numbers whole, punctuation glued to its neighbour."""
    tokens: list[str] = []
    glue = False
    for piece in _TOKEN.findall(text):
        if tokens and (glue or piece[0] in _CLOSING):
            tokens[-1] += piece
        else:
            tokens.append(piece)
        glue = piece[-1] in _OPENING
    return tokens


def wrap_text(text: str, box_width_mm: float, size_pt: float, *, tracking_em: float = 0.0,
              advances: Advances) -> list[str]:  # fmt: skip
    """Greedy line breaks of ``text`` at ``size_pt`` within ``box_width_mm``; a piece
    wider than a whole line (a very long number) is cut between characters."""
    em_mm, room = size_pt * PT_MM, box_width_mm - SLACK_MM

    def fits(s: str) -> bool:
        s = s.strip()
        return (advances.width_em(s) + tracking_em * len(s)) * em_mm <= room

    lines: list[str] = []
    line = ""
    for token in _tokens(" ".join(text.split())):
        if fits(line + token):
            line += token
            continue
        if line.strip():
            lines.append(line.strip())
        line = "" if token.isspace() else token
        if not fits(line):
            *full, line = _cut(line, fits)
            lines.extend(full)
    if line.strip():
        lines.append(line.strip())
    return lines or [""]


def _cut(piece: str, fits) -> list[str]:
    parts, part = [], ""
    for char in piece:
        if part and not fits(part + char):
            parts.append(part)
            part = ""
        part += char
    return parts + [part]


def fit_text(text: str, box_width_mm: float, max_lines: int, max_pt: float, min_pt: float, *,
             box_height_mm: float | None = None, line_height: float = LINE_HEIGHT, tracking_em: float = 0.0,
             advances: Advances) -> float:  # fmt: skip
    """The largest font size (pt, steps of 0.25) at which ``text`` fits in ``max_lines``
    lines of ``box_width_mm`` (and, if given, in ``box_height_mm``); ``min_pt`` if none.

    The contract's limits are chosen so that every allowed value fits at
    ``min_pt``; tests/test_certificate_doc.py prints the longest."""
    size = max_pt
    while size > min_pt:
        lines = len(wrap_text(text, box_width_mm, size, tracking_em=tracking_em, advances=advances))
        if lines <= max_lines and (box_height_mm is None or lines * line_height * size * PT_MM <= box_height_mm):
            return size
        size = round(size - FIT_STEP_PT, 2)
    return min_pt
