"""Long lists (publicity tables, rosters) laid out fast.

WeasyPrint spends about a third of a millisecond on every table cell; a
3,000-row list of ten columns took 13 s and 0.7 GB. Most rows of such a list
fit their columns on one line, so this module sets each such row as ONE
line: the cell texts, each centred in its column by the spaces put before
it, and the column rules drawn once per page by the table's background. A
run of such rows is one table cell with a block per row (``runs``: a table
row costs several times what a block does), the rows' rules drawn by the
cell's background. A row where some text needs more than one line keeps one
real cell per column, so wrapped text stays whole and in order. The header
repeats and rows never split, as in any table. The one-line rows of a run are
not even laid out as text: WeasyPrint places an empty block per row and the
page draws the row's line there (``drawn_lines``).

Widths come from the shipped font's advance widths (ideographs are 1 em;
kerning is turned off in the stylesheet so that the sums are exact). Spaces
come in three widths (1, 0.5 and 0.256 em), so a text sits within 0.13 em
(0.4 mm at 9 pt) of its exact centre; tab stops were tried and dropped,
because Pango places them inconsistently after text.
"""

from __future__ import annotations

import base64
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import repeat
from pathlib import Path

from fontTools.ttLib import TTFont

PT_MM = 25.4 / 72
# Spaces of the main face and their advance in em (checked against the font
# by ``Advances``): ideographic space, en space, space.
_EM, _EN, _SP = "\u3000", "\u2002", " "


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: float  # percent of the table width


@dataclass(frozen=True)
class Row:
    """Either ``line`` (one tabbed line for the whole row) or ``cells``."""

    cells: tuple[str, ...]
    line: str | None = None
    # The line is drawn into the page after layout (service.documents.drawn_lines), not
    # laid out as text: every character of it is the main face's.
    drawn: bool = False


class Advances:
    """Advance widths of one font, in em, for measuring text."""

    def __init__(self, font_path: Path):
        font = TTFont(font_path, lazy=True)
        upem = font["head"].unitsPerEm
        metrics = font["hmtx"].metrics
        cmap = font.getBestCmap()
        # by character, not code point: a text is measured without a call per character
        self._em = {chr(code): metrics[name][0] / upem for code, name in cmap.items()}
        self._glyphs = {chr(code): font.getGlyphID(name) for code, name in cmap.items()}
        # What a line can be drawn with glyph by glyph (drawn_lines): a mark, a joiner or a
        # variation selector needs shaping (positioning, another glyph) and is left to Pango.
        self._plain = frozenset(ch for ch in self._glyphs if unicodedata.category(ch) not in ("Mn", "Me", "Mc", "Cf"))
        self.en = self._em["\u2002"]
        self.space = self._em[" "]
        if self._em["\u3000"] != 1.0:
            raise ValueError(f"{font_path}: the ideographic space is not 1 em wide")

    def width_em(self, text: str) -> float:
        # Characters the main face lacks come from the CJK fallback face: 1 em.
        return sum(map(self._em.get, text, repeat(1.0, len(text))))

    def covers(self, text: str) -> bool:
        """Whether the main face has every character of ``text``, each a glyph of its own
        that needs no shaping."""
        return self._plain.issuperset(text)

    def glyph(self, char: str) -> int:
        """The main face's glyph id for ``char`` (one it ``covers``)."""
        return self._glyphs[char]


@lru_cache(maxsize=4)
def advances_for(font_path: Path) -> Advances:
    return Advances(font_path)


@dataclass(frozen=True)
class ListLayout:
    columns: tuple[Column, ...]
    table_width_mm: float
    font_size_pt: float
    cell_padding_mm: float
    advances: Advances
    fast: bool = True  # False: a cell per column in every row (the benchmark's baseline)

    def __post_init__(self):
        if abs(sum(c.width for c in self.columns) - 100) > 1e-6:
            raise ValueError("column widths must add up to 100 %")

    def column_bounds(self) -> list[tuple[float, float]]:
        return list(self._bounds)

    @cached_property
    def _bounds(self) -> tuple[tuple[float, float], ...]:
        bounds, left = [], 0.0
        for column in self.columns:
            width = self.table_width_mm * column.width / 100
            bounds.append((left, left + width))
            left += width
        return tuple(bounds)

    @cached_property
    def _gaps(self) -> tuple[tuple[float, float, str], ...]:
        """The runs of spaces less than an em wide: (en spaces' width, spaces' width, the run)."""
        en, space = self.advances.en, self.advances.space
        return tuple((e * en, s * space, _EN * e + _SP * s) for e in (0, 1) for s in range(4))

    def spaces_for(self, mm: float) -> tuple[str, float]:
        """The run of spaces closest to ``mm`` wide (never negative), and its width."""
        em = max(0.0, mm / (self.font_size_pt * PT_MM))
        whole = int(em)
        rest = em - whole
        best = min(self._gaps, key=lambda gap: abs(rest - (gap[0] + gap[1])))  # the first of equals
        used = whole + best[0] + best[1]
        return _EM * whole + best[2], used * self.font_size_pt * PT_MM

    def text_mm(self, text: str) -> float:
        return self.advances.width_em(text) * self.font_size_pt * PT_MM

    def row(self, cells: Sequence[str]) -> Row:
        """One tabbed line when every text fits its column, else one cell per column."""
        cells = tuple(cells)
        if not self.fast or any("\n" in text for text in cells):
            return Row(cells)
        parts: list[str] = []
        pen = 0.0  # mm from the fast cell's content box, which starts one padding in
        for text, (left, right) in zip(cells, self._bounds):
            width = self.text_mm(text)
            room = right - left - 2 * self.cell_padding_mm
            if width > room:
                return Row(cells)
            gap, gap_mm = self.spaces_for(left + (room - width) / 2 - pen)
            parts.append(gap + text)
            pen += gap_mm + width
            if pen > right - 2 * self.cell_padding_mm + 0.5:
                return Row(cells)  # rounding pushed the text out of its column
        line = "".join(parts)
        return Row(cells, line=line, drawn=self.advances.covers(line))

    def runs(self, rows: Sequence[Row]) -> list[tuple[str, list]]:
        """``rows`` as they are set: each run of one-line rows as ("lines", those rows),
        one cell holding a block per row; each other row as ("row", [row]). A table row
        costs WeasyPrint several times what a line in a block costs."""
        runs: list[tuple[str, list]] = []
        for row in rows:
            kind = "row" if row.line is None else "lines"
            if runs and runs[-1][0] == kind == "lines":
                runs[-1][1].append(row)
            else:
                runs.append((kind, [row]))
        return runs

    def row_pitch_mm(self) -> float:
        """The height of a one-line row: its line (``line-height: 1.3``), the cells'
        padding above and below (0.9 mm each, common.css), the hairline above and the rule
        below (0.02 and 0.6 pt)."""
        return 1.3 * self.font_size_pt * PT_MM + 1.8 + 0.62 * PT_MM

    def run_line_mm(self) -> float:
        """The line of a row's block in a run: the row's height less the 0.58 pt of margin
        below it (common.css: td.lines), which put the text where the row's padding did."""
        return self.row_pitch_mm() - 0.58 * PT_MM

    def row_rules_data_uri(self) -> str:
        """An SVG of one row's hairline on top and rule below, repeated down a run of
        one-line rows (``runs``) by its cell's background: what the rows' borders drew."""
        pitch = self.row_pitch_mm()
        top, bottom = 0.02 * PT_MM, 0.6 * PT_MM
        svg = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="100mm" height="{pitch:.4f}mm" '
            f'viewBox="0 0 100 {pitch:.4f}" preserveAspectRatio="none">'
            f'<rect x="0" y="0" width="100" height="{top:.4f}"/>'
            f'<rect x="0" y="{pitch - bottom:.4f}" width="100" height="{bottom:.4f}"/></svg>'
        )
        return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()

    def rules_data_uri(self) -> str:
        """An SVG of the vertical column rules, repeated down the table by its background."""
        stroke = 0.6 * PT_MM
        edges = [0.0] + [right for _, right in self.column_bounds()]
        # A cell draws its rule inside its border box: centre each line on
        # the cell borders it continues.
        xs = [stroke / 2] + [edge - stroke / 2 for edge in edges[1:]]
        path = "".join(f"M{x:.3f} 0V4" for x in xs)
        width = self.table_width_mm
        svg = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.3f}mm" height="4mm" '
            f'viewBox="0 0 {width:.3f} 4"><path d="{path}" stroke="#000" stroke-width="{stroke:.4f}" '
            'fill="none" shape-rendering="crispEdges"/></svg>'
        )
        return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
