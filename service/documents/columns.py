"""Column widths that follow their content, and type that shrinks a step before it wraps.

A ruled table of a form declares its columns with a share of the width and a
kind: ``one`` for values a typesetter keeps on one line (dates, numbers, short
words such as 大学本科), ``code`` for codes and numbers that must never break,
``name`` for the names of units and organisations, ``text`` for free text. The
widths are then measured from what the rows hold (with the shipped font's advance
widths, as ``service.documents.tabular`` does): a one-line or code column gets
what its longest value needs and gives back what it does not need; the name and
text columns take the rest. A one-line value or a name that still does not fit
its column on one line is set a step smaller (down to ``MIN_SCALE`` of its size)
before it is allowed to wrap; a code never wraps, it shrinks as far as it must;
free text wraps (``service.documents.typeset`` keeps its last line from being one
lone character).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from service.documents.fit import name_in_two_lines
from service.documents.tabular import PT_MM, Advances
from service.documents.words import Segmenter

MIN_SCALE = 0.8  # a value shrinks to 80 % of its size before it wraps (9 pt → 7.25 pt)
CODE_MIN_PT = 6.0  # a code shrinks further, to this, rather than break
STEP_PT = 0.25
SLACK_MM = 0.6  # Pango's rounding, and the room a line needs not to touch the rule
RULES_MM = 0.25  # a cell's rules (0.6 pt right, a hairline left) are inside its column
MAX_ONE_LINE = 0.34  # no one-line column takes more than this share of the table
SHORT_NAME = 12  # a name of at most this many characters is set on one line if it can be
HEADER_PT = 9.0  # the headings of a list (common.css: table.grid th), bold
BOLD_EM = 1.02  # ... a little wider than the regular face measures
_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-/:]*$")


def size_class(size_pt: float) -> str:
    """The class that sets ``size_pt`` (common.css: .fs600 … .fs1050, in steps of 0.25 pt)."""
    return f"fs{round(size_pt * 100)}"


def smallest(size_pt: float) -> float:
    """The smallest size a value of ``size_pt`` is set at before it wraps: a step smaller."""
    return math.ceil(size_pt * MIN_SCALE / STEP_PT - 1e-9) * STEP_PT


@dataclass(frozen=True)
class Col:
    label: str
    share: float  # percent of the table's width when the content asks for nothing else
    kind: str = "text"  # one | code | name | text
    size_pt: float = 9.0
    css: str = ""  # the cells' class (c: centred)


@dataclass(frozen=True)
class Cell:
    html: Markup
    css: str = ""


# A row holding more text than this may split over pages (rows are otherwise kept
# whole): a row taller than a page would else be forced onto pages without the table's
# headings, which WeasyPrint drops when a row that must stay whole cannot follow them.
FLOW_CHARS = 400


@dataclass(frozen=True)
class Table:
    columns: tuple[Col, ...]
    widths: tuple[float, ...]  # percent
    rows: tuple[tuple[Cell, ...], ...]
    flow: tuple[bool, ...] = ()  # for each row: may it split over pages

    @property
    def keep(self) -> bool:
        """Short enough to move whole to the next page rather than split."""
        return len(self.rows) <= 8 and not any(self.flow)

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.columns]


class Fitter:
    """Measures text in the shipped face and fits it to a width."""

    def __init__(self, advances: Advances, padding_mm: float = 1.4, words: Segmenter | None = None):
        self.advances = advances
        self.padding_mm = padding_mm
        self.words = words  # the province's words, kept whole when a name is broken

    def width_mm(self, text: str, size_pt: float) -> float:
        return self.advances.width_em(text) * size_pt * PT_MM

    def size_for(self, text: str, room_mm: float, size_pt: float, code: bool = False) -> float | None:
        """The largest size, at most ``size_pt``, at which ``text`` fits ``room_mm`` on one line;
        None when it needs more than a step smaller (codes: more than ``CODE_MIN_PT``)."""
        width_em = self.advances.width_em(text) * PT_MM
        if width_em == 0:
            return size_pt
        fitting = (room_mm - SLACK_MM) / width_em
        if fitting >= size_pt:
            return size_pt
        floor = CODE_MIN_PT if code else smallest(size_pt)
        size = math.floor(fitting / STEP_PT + 1e-9) * STEP_PT
        return size if size >= floor else None

    def cell(self, value, room_mm: float, size_pt: float, kind: str = "one") -> Markup:
        """``value`` fitted (see ``fitted``), the size as a span's class: for a cell whose
        element the template writes itself."""
        html, css = self.fitted(value, room_mm, size_pt, kind)
        return Markup('<span class="{}">{}</span>').format(css, html) if css else html

    def fitted(self, value, room_mm: float, size_pt: float, kind: str = "one") -> tuple[Markup, str]:
        """``value`` (lines separated by ``\\n``) for a cell ``room_mm`` wide inside its padding,
        and the classes that set it: as it is when every line fits, else a step smaller,
        else as it is (it wraps). A code (digits and letters, no spaces) never wraps: it
        shrinks as far as it must. Free text (``kind="text"``) is left to wrap. Classes,
        not style attributes: WeasyPrint parses every style attribute on every render."""
        lines = [] if value is None else str(value).split("\n")
        html = Markup("<br>").join(escape(line) for line in lines)
        if not any(lines) or kind == "text":
            return html, ""
        code = kind == "code" or all(_CODE.match(line) for line in lines)
        found = [self.size_for(line, room_mm, size_pt, code) for line in lines]
        sizes = [s for s in found if s is not None]
        if len(sizes) < len(found):
            if kind == "name":
                return self._name_lines(lines, room_mm, size_pt)
            if not code:
                return html, ""
            # A code too long for its column even at the smallest size: smallest, and
            # broken where it must be rather than run into the next column.
            return html, size_class(CODE_MIN_PT)
        size = min(sizes)
        if size >= size_pt:
            return html, ""  # it fits as it is (and a code does not break inside by itself)
        return html, size_class(size) + (" nowrap" if code else "")

    def row(self, size_pt: float, cells: list[tuple[object, float]]) -> list[Markup]:
        """The values of one row of a form (each with the room inside its cell) set in one
        size: the largest, at most ``size_pt``, at which every value that can fit one line a
        step smaller does; a value longer than that wraps, in the same size. A row of mixed
        sizes (a title a step smaller beside a date at full size) looks like a mistake."""
        sizes = [self.size_for(str(value), room, size_pt) for value, room in cells if value not in (None, "")]
        fitting = [size for size in sizes if size is not None]
        common = min(fitting, default=size_pt)
        css = size_class(common) if common < size_pt else ""
        out = []
        for value, _room in cells:
            html = escape("" if value is None else str(value))
            out.append(Markup('<span class="{}">{}</span>').format(css, html) if css and value else html)
        return out

    def _name_lines(self, lines: list[str], room_mm: float, size_pt: float) -> tuple[Markup, str]:
        """Names too long for one line, each broken in two where a typesetter would break a
        name (…初级 | 评审委员会, …保障局 | （…）), a step smaller if that is what it takes."""
        broken, sizes = [], []
        for line in lines:
            found = name_in_two_lines(
                line, room_mm - SLACK_MM, size_pt, smallest(size_pt), advances=self.advances, words=self.words
            )
            if found is None or self.size_for(line, room_mm, size_pt) is not None:
                broken.append(line)
                sizes.append(self.size_for(line, room_mm, size_pt) or size_pt)
            else:
                broken += found[1]
                sizes.append(found[0])
        html = Markup("<br>").join(escape(line) for line in broken)
        size = min(sizes)
        return html, size_class(size) if size < size_pt else ""

    def room(self, widths: list[float], table_mm: float, start: int, span: int = 1) -> float:
        """The width inside the padding of a cell of a table with ``widths`` (percent) that
        starts at column ``start`` and spans ``span`` columns."""
        return sum(widths[start : start + span]) / 100 * table_mm - 2 * self.padding_mm - RULES_MM

    def table(self, columns: tuple[Col, ...], rows: list[list], table_mm: float) -> Table:
        """The rows (each a list of values, ``None`` for empty) in columns fitted to their content."""
        widths = fit_widths(columns, rows, table_mm, self)
        cells = []
        for row in rows:
            fitted = []
            for column, width, value in zip(columns, widths, row):
                room = width / 100 * table_mm - 2 * self.padding_mm - RULES_MM
                html, css = self.fitted(value, room, column.size_pt, column.kind)
                fitted.append(Cell(html, " ".join(filter(None, [column.css, css]))))
            cells.append(tuple(fitted))
        flow = tuple(sum(len(str(v)) for v in row if v is not None) > FLOW_CHARS for row in rows)
        return Table(columns, tuple(widths), tuple(cells), flow)


def fit_widths(columns: tuple[Col, ...], rows: list[list], table_mm: float, fitter: Fitter) -> list[float]:
    """Percent widths: one-line and code columns sized to their content, name and text
    columns sharing the rest, names first served with what they need a step smaller."""
    pad = 2 * fitter.padding_mm + RULES_MM + SLACK_MM
    base = [c.share / 100 * table_mm for c in columns]
    # A heading keeps to one line where its share allows, else to two.
    floor = [max(_header_min(c, fitter), min(_header_width(c, fitter), b - pad)) + pad for c, b in zip(columns, base)]
    longest = [_longest(c, [row[i] for row in rows], fitter) for i, c in enumerate(columns)]
    want = list(base)
    flexible = [i for i, c in enumerate(columns) if c.kind in ("name", "text")]
    fixed = [i for i in range(len(columns)) if i not in flexible]
    for i in fixed:
        want[i] = min(max(longest[i] + pad, floor[i]), MAX_ONE_LINE * table_mm)
    if not flexible:
        return [c.share for c in columns]
    # What each column cannot give up: a heading's room; a one-line value a step smaller
    # and a code at its smallest (a column squeezed below that would break its values).
    keep = {i: max(floor[i], _smallest_width(columns[i], longest[i]) + pad) for i in fixed}
    need = {i: max(floor[i], 0.5 * base[i]) for i in flexible}
    # A short name (化学工程与工艺) is served before the others' comfort: on one line a step
    # smaller, the one-line and code columns setting their type smaller to make the room.
    for i in flexible:
        if columns[i].kind == "name" and _longest_chars(i, rows) <= SHORT_NAME:
            smaller = longest[i] * smallest(columns[i].size_pt) / columns[i].size_pt
            need[i] = max(need[i], min(smaller + pad + 0.05, MAX_ONE_LINE * table_mm))
    # The flexible columns take what the others leave, never less than their headings
    # need; one-line columns give way (and shrink their type) when there is not enough.
    room = table_mm - sum(want[i] for i in fixed)
    if room < sum(need.values()):
        squeezable = [i for i in fixed if want[i] > keep[i]]
        excess = sum(want[i] - keep[i] for i in squeezable)
        cut = min(sum(need.values()) - room, excess)
        for i in squeezable:
            want[i] -= cut * (want[i] - keep[i]) / excess
        room += cut
    share = sum(base[i] for i in flexible)
    for i in flexible:
        want[i] = room * base[i] / share
    # A longer name short of what it needs on one line a step smaller takes it from the
    # others' surplus over their own needs.
    for i in flexible:
        if columns[i].kind == "name":
            smaller = longest[i] * smallest(columns[i].size_pt) / columns[i].size_pt
            need[i] = max(need[i], min(smaller + pad + 0.05, MAX_ONE_LINE * table_mm))
    deficit = sum(max(0.0, need[i] - want[i]) for i in flexible)
    surplus = {i: want[i] - need[i] for i in flexible if want[i] > need[i]}
    if deficit and surplus:
        moved = min(deficit, sum(surplus.values()))
        total = sum(surplus.values())
        for i in flexible:
            if want[i] < need[i]:
                want[i] += moved * (need[i] - want[i]) / deficit
            elif i in surplus:
                want[i] -= moved * surplus[i] / total
    return [round(w / table_mm * 100, 3) for w in want]


def _longest_chars(index: int, rows: list) -> int:
    """The most characters a line of the column holds."""
    lines = [line for row in rows if row[index] not in (None, "") for line in str(row[index]).split("\n")]
    return max((len(line) for line in lines), default=0)


def _smallest_width(column: Col, longest_mm: float) -> float:
    """What the column's longest value needs at the smallest size it may be set at."""
    if column.kind == "code":
        return longest_mm * CODE_MIN_PT / column.size_pt
    return longest_mm * smallest(column.size_pt) / column.size_pt


def _longest(column: Col, values: list, fitter: Fitter) -> float:
    """The width of the longest line the column holds, at its size."""
    lines = [line for v in values if v not in (None, "") for line in str(v).split("\n")]
    return max((fitter.width_mm(line, column.size_pt) for line in lines), default=0.0)


def _header_width(column: Col, fitter: Fitter) -> float:
    return fitter.width_mm(column.label, HEADER_PT) * BOLD_EM


def _header_min(column: Col, fitter: Fitter) -> float:
    """The narrowest a heading can be set in two lines, without a lone last character, a
    bracketed group or a Latin word broken (ISBN, ISSN)."""
    label = column.label
    half = label[: math.ceil(len(label) / 2)] if len(label) > 3 else label
    whole = re.findall(r"[（(][^）)]*[）)]|[A-Za-z0-9]+", label)
    widest = max([half, *whole], key=lambda s: fitter.advances.width_em(s))
    return fitter.width_mm(widest, HEADER_PT) * BOLD_EM
