"""Fitting text into a fixed box: Chinese line breaking (禁则) and the largest font size that fits.

Pure, measured with the shipped font's advance widths (service.documents.tabular.Advances),
so that a layout can guarantee that no value overflows its box. Lines break between words
(service.documents.words), never inside one unless the word alone is wider than the box;
a short value (a name, a term) is set a step smaller rather than broken at all.
"""

from __future__ import annotations

import re

from service.documents.tabular import PT_MM, Advances
from service.documents.words import Segmenter, segmenter_for

LINE_HEIGHT = 1.25
FIT_STEP_PT = 0.25
# Pango places glyphs on a 1/1024 pt grid: a hair of room keeps rounding from
# pushing a line measured to fit past its box.
SLACK_MM = 0.3
SHORT = 12  # a value of at most this many characters ...
SHRINK = 0.8  # ... shrinks to this share of its size on one line before it is broken

# Chinese line-breaking rules (禁则): closing punctuation never starts a line,
# opening punctuation never ends one.
_CLOSING = frozenset("，。、；：？！）］｝〕】》」』”’…—·％‰,.;:?!)]}%")
_OPENING = frozenset("（［｛〔【《「『“‘([{")
# A short bracketed group is one piece: 「（正高级工程师）」 and 〔2024〕 never break inside.
BRACKETED_MAX = 10
_BRACKETED = rf"[（［〔【《「『(\[][^（［〔【《「『(\[）］〕】》」』)\]\s]{{1,{BRACKETED_MAX}}}[）］〕】》」』)\]]"
_TOKEN = re.compile(rf"{_BRACKETED}|[A-Za-z0-9]+|\s+|.", re.DOTALL)
_IDEOGRAPH = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def _pieces(text: str, words: Segmenter) -> list[str]:
    """Latin words and numbers, short bracketed groups, and the words of runs of ideographs."""
    pieces: list[str] = []
    run: list[str] = []
    for piece in _TOKEN.findall(text):
        if len(piece) == 1 and _IDEOGRAPH.match(piece):
            run.append(piece)
            continue
        if run:
            pieces.extend(words.words("".join(run)))
            run = []
        pieces.append(piece)
    if run:
        pieces.extend(words.words("".join(run)))
    return pieces


def _tokens(text: str, words: Segmenter | None = None) -> list[str]:
    """Unbreakable pieces: words whole, Latin words and numbers whole, short bracketed
    groups whole, punctuation glued to its neighbour."""
    tokens: list[str] = []
    glue = False
    for piece in _pieces(text, words or segmenter_for()):
        if tokens and (glue or piece[0] in _CLOSING):
            tokens[-1] += piece
        else:
            tokens.append(piece)
        glue = piece[-1] in _OPENING
    return tokens


def wrap_text(
    text: str,
    box_width_mm: float,
    size_pt: float,
    *,
    tracking_em: float = 0.0,
    advances: Advances,
    words: Segmenter | None = None,
) -> list[str]:
    """Greedy line breaks of ``text`` at ``size_pt`` within ``box_width_mm``, between words;
    a word wider than a whole line is cut between its parts, and a very long number
    between characters. The last
    line is never one lone character when the line before can give it a neighbour."""
    em_mm, room = size_pt * PT_MM, box_width_mm - SLACK_MM

    def fits(s: str) -> bool:
        s = s.strip()
        return (advances.width_em(s) + tracking_em * len(s)) * em_mm <= room

    lines: list[str] = []
    line = ""
    for token in _tokens(" ".join(text.split()), words):
        if fits(line + token):
            line += token
            continue
        if line.strip():
            lines.append(line.strip())
        line = "" if token.isspace() else token
        if not fits(line):
            *full, line = _cut(line, fits, words or segmenter_for())
            lines.extend(full)
    if line.strip():
        lines.append(line.strip())
    if len(lines) > 1 and len(_IDEOGRAPH.findall(lines[-1])) == 1 and len(_tokens(lines[-1], words)) == 1:
        before = _tokens(lines[-2], words)
        if len(before) > 1 and fits(before[-1] + lines[-1]):
            lines[-2:] = ["".join(before[:-1]).strip(), before[-1] + lines[-1]]
    return lines or [""]


# The end of a part of an organisation's name (…保障局 | 武汉分会): the best place to
# break a name in two, as the beginning of a bracketed part is.
_NAME_PART_ENDS = frozenset("省市区县镇乡局厅委会院所校司部办处站心级")
PART_BREAK_BONUS_EM = 3.5


def two_lines(
    text: str,
    box_width_mm: float,
    size_pt: float,
    *,
    tracking_em: float = 0.0,
    advances: Advances,
    words: Segmenter | None = None,
) -> tuple[list[str], bool] | None:
    """``text`` in two lines that fit, as even as the breaking rules allow, a break between
    two parts of a name preferred (a line up to 3.5 em longer is worth it); and whether the
    break is such a one. None when no break gives two lines that fit."""
    em_mm, room = size_pt * PT_MM, box_width_mm - SLACK_MM
    tokens = _tokens(" ".join(text.split()), words)

    def width(s: str) -> float:
        return (advances.width_em(s) + tracking_em * len(s)) * em_mm

    best, best_score = None, None
    for index in range(1, len(tokens)):
        first, second = "".join(tokens[:index]).strip(), "".join(tokens[index:]).strip()
        if not first or not second:
            continue
        longer = max(width(first), width(second))
        if longer > room:
            continue
        part_break = first[-1] in _NAME_PART_ENDS or second[0] in _OPENING
        score = longer - (PART_BREAK_BONUS_EM * em_mm if part_break else 0.0)
        if best_score is None or score < best_score:
            best, best_score = ([first, second], part_break), score
    return best


def name_in_two_lines(
    text: str,
    box_width_mm: float,
    size_pt: float,
    min_pt: float,
    *,
    tracking_em: float = 0.0,
    advances: Advances,
    words: Segmenter | None = None,
) -> tuple[float, list[str]] | None:
    """A name that needs two lines at ``size_pt``: broken between two of its parts if that
    fits at most 1 pt smaller (a step down rather than 保障 | 局), else as evenly as it fits."""
    size = size_pt
    while size >= max(min_pt, size_pt - 1.0):
        found = two_lines(text, box_width_mm, size, tracking_em=tracking_em, advances=advances, words=words)
        if found is not None and found[1]:
            return size, found[0]
        size = round(size - FIT_STEP_PT, 2)
    found = two_lines(text, box_width_mm, size_pt, tracking_em=tracking_em, advances=advances, words=words)
    return (size_pt, found[0]) if found is not None else None


def _cut(piece: str, fits, words: Segmenter) -> list[str]:
    """A piece wider than a line in lines: between its parts where they fit (专业技术 | 职务),
    between characters where even a part does not (a very long number)."""
    units = list(words.parts(piece)) if _IDEOGRAPH.match(piece) else list(piece)
    lines, line = [], ""
    for unit in units:
        if line and not fits(line + unit):
            lines.append(line)
            line = ""
        if not fits(unit):
            *full, unit = _cut_characters(unit, fits)
            lines.extend(full)
        line += unit
    return lines + [line]


def _cut_characters(piece: str, fits) -> list[str]:
    parts, part = [], ""
    for char in piece:
        if part and not fits(part + char):
            parts.append(part)
            part = ""
        part += char
    return parts + [part]


def fit_text(
    text: str,
    box_width_mm: float,
    max_lines: int,
    max_pt: float,
    min_pt: float,
    *,
    box_height_mm: float | None = None,
    line_height: float = LINE_HEIGHT,
    tracking_em: float = 0.0,
    advances: Advances,
    words: Segmenter | None = None,
) -> float:
    """The largest font size (pt, steps of 0.25) at which ``text`` fits in ``max_lines``
    lines of ``box_width_mm`` (and, if given, in ``box_height_mm``); ``min_pt`` if none.
    A short value that fits one line a step smaller (``SHRINK``) is set so, not broken.

    The contract's limits are chosen so that every allowed value fits at
    ``min_pt``; tests/test_certificate_doc.py prints the longest."""
    one_line = _one_line_size(text, box_width_mm, max_pt, tracking_em, advances)
    if len(text.strip()) <= SHORT and one_line is not None and one_line >= max(min_pt, max_pt * SHRINK):
        if box_height_mm is None or line_height * one_line * PT_MM <= box_height_mm:
            return one_line
    size = max_pt
    while size > min_pt:
        lines = len(wrap_text(text, box_width_mm, size, tracking_em=tracking_em, advances=advances, words=words))
        if lines <= max_lines and (box_height_mm is None or lines * line_height * size * PT_MM <= box_height_mm):
            return size
        size = round(size - FIT_STEP_PT, 2)
    return min_pt


def _one_line_size(
    text: str, box_width_mm: float, max_pt: float, tracking_em: float, advances: Advances
) -> float | None:
    """The largest size, at most ``max_pt`` in steps of 0.25 pt, at which ``text`` fits one line."""
    text = " ".join(text.split())
    width_em = (advances.width_em(text) + tracking_em * len(text)) * PT_MM
    if width_em <= 0:
        return max_pt
    size = min(max_pt, int((box_width_mm - SLACK_MM) / width_em / FIT_STEP_PT) * FIT_STEP_PT)
    return size if size > 0 else None
