"""The one-line rows of long lists, drawn straight into their pages once WeasyPrint has placed them.

WeasyPrint spends about half a millisecond on a line of text: its line box, a Pango
layout of the text, then its glyphs walked one by one in Python to draw them; on a
3,000-row publicity table that was most of the time. A run of one-line rows
(``tabular.ListLayout.runs``) is therefore set as empty blocks, each as high as the line
it stands for and carrying its text in ``data-line``. WeasyPrint still places every
block (the pages, the breaks between rows, the header repeated, the closing block kept
with the last rows); then each page draws the text of its blocks where the line would
have stood: its baseline the block's strut (the same computation WeasyPrint makes for a
line of that style), its glyphs the main face's, registered on WeasyPrint's own font
object so that the embedded subset, the widths and the ToUnicode map (the text layer)
are those of all the other text.

Only rows whose every character the main face has are drawn (``tabular``): one that
needs a fallback face, and anything shaped (kerning and ligatures are off in lists),
are left to WeasyPrint as text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.documents.tabular import Advances

ATTRIBUTE = "data-line"
MARK = f' {ATTRIBUTE}="'  # in the HTML of a document that has such blocks
# A character every list face has, shaped once to find the font Pango picks for a style.
PROBE = "\u4e00"


@dataclass(frozen=True)
class _Line:
    x: float  # CSS px from the page's left edge
    baseline: float  # CSS px from the page's top edge
    text: str


def draw_placed_lines(document, advances: Advances) -> None:
    """Have each page of the laid-out ``document`` draw the text of its line blocks.

    Each page's run of blocks is drawn just after the text that comes before it in the
    page (the list's header), where WeasyPrint would have drawn its lines: the PDF's text
    then reads in the page's order (a viewer copies text in that order); a run with no
    text before it is drawn after the page's content."""
    # id of a block's style (styles are shared, and not hashable) → (the style, the Pango
    # font and the layout that holds it, where the line's baseline stands in the block)
    shaped: dict[int, tuple] = {}
    for page in document.pages:
        runs: list[tuple[Any, list]] = []  # (the text box before the run or None, its blocks)
        before = None
        for kind, box in _in_order(page._page_box):
            if kind == "text":
                before = box
            elif runs and runs[-1][0] is before:
                runs[-1][1].append(box)
            else:
                runs.append((before, [box]))
        if not runs:
            continue
        painter = _Painter(advances)
        for before, blocks in runs:
            placed = []
            for block in blocks:
                key = id(block.style)
                if key not in shaped:
                    shaped[key] = (block.style, *_probe(block.style, advances))
                style, font, baseline = shaped[key]
                placed.append(
                    (
                        style,
                        font,
                        _Line(block.content_box_x(), block.content_box_y() + baseline, block.element.get(ATTRIBUTE)),
                    )
                )
            painter.add(before, placed)
        page.paint = painter.wrap(page.paint)


def _in_order(page_box):
    """The page's text boxes ("text", box) and line blocks ("line", box), in the order
    WeasyPrint draws their text (the boxes' tree order; the page's margin boxes last)."""
    from weasyprint.formatting_structure.boxes import BlockBox, TextBox

    stack = [page_box]
    while stack:
        box = stack.pop()
        if isinstance(box, TextBox):
            yield "text", box
            continue
        element = box.element
        if isinstance(box, BlockBox) and element is not None and box.element_tag == "div":
            if element.get(ATTRIBUTE) is not None:
                yield "line", box
                continue
        stack.extend(reversed(getattr(box, "children", ())))


def _probe(style, advances: Advances):
    """The Pango font WeasyPrint would use for text in ``style``, and where that text's
    baseline stands below the top of its line; refused if that font is not the face
    ``advances`` measures (its glyph ids would be another font's)."""
    from weasyprint.text.line_break import Layout, strut

    layout = Layout(style)
    layout.set_text(PROBE)
    first_line, _ = layout.get_first_line()
    run = first_line.runs[0].data
    font = run.item.analysis.font
    glyph = run.glyphs.glyphs[0].glyph
    if glyph != advances.glyph(PROBE):
        raise RuntimeError(f"the list face is not the main face ({glyph} ≠ {advances.glyph(PROBE)} for {PROBE})")
    _, baseline = strut(style)
    return (font, layout), baseline  # the layout kept with its font, which it holds


class _Painter:
    """A page's drawn lines, each run drawn right after the text box before it."""

    def __init__(self, advances: Advances):
        self.advances = advances
        self.after: list[tuple[Any, list]] = []  # (text box, its run's lines)
        self.last: list = []  # runs with no text before them
        self.stream = None
        self.drawn: set[int] = set()  # ids of the runs drawn in this painting
        # id of a Pango font → WeasyPrint's font object and size, and the glyphs (in hex)
        # entered in it so far
        self.fonts: dict[int, tuple[Any, float, dict[str, str]]] = {}

    def add(self, before, placed: list) -> None:
        if before is None:
            self.last.extend(placed)
        else:
            self.after.append((before, placed))

    def wrap(self, paint: Callable) -> Callable:
        for before, placed in self.after:
            layout = before.pango_layout
            # draw_text ends a text box's drawing with its layout's ``deactivate``: the
            # run follows there, in the same coordinates and text object
            layout.deactivate = _then(layout.deactivate, lambda placed=placed: self.draw(placed))

        def paint_with_lines(stream, scale=1):
            self.stream, self.drawn = stream, set()
            paint(stream, scale)
            # what came before was not drawn (hidden text, say): the run goes last
            left = self.last + [line for _, placed in self.after if id(placed) not in self.drawn for line in placed]
            if left:
                with stream.stacked():
                    stream.transform(a=scale, d=scale)
                    self.draw(left)
            self.stream = None

        return paint_with_lines

    def draw(self, placed: list) -> None:
        stream = self.stream
        if stream is None or id(placed) in self.drawn:  # only while the page is painted, and once
            return
        self.drawn.add(id(placed))
        stream.begin_text()
        for style, (pango_font, _), line in placed:
            if id(pango_font) not in self.fonts:
                self.fonts[id(pango_font)] = (*stream.add_font(pango_font), {})
            font, size, hexes = self.fonts[id(pango_font)]
            _enter(font, line.text, hexes, self.advances)
            stream.set_color(style["color"])
            stream.set_font_size(font.hash, size)
            stream.set_text_matrix(1, 0, 0, -1, line.x, line.baseline)
            stream.show_text("<" + "".join(map(hexes.__getitem__, line.text)) + ">")
        stream.end_text()


def _then(first: Callable, then: Callable) -> Callable:
    def both():
        first()
        then()

    return both


def _enter(font, text: str, hexes: dict[str, str], advances: Advances) -> None:
    """Enter each character of ``text`` not yet in ``hexes`` there (its glyph id in hex)
    and its glyph in ``font``'s widths and ToUnicode map, as WeasyPrint's own drawing does
    for a glyph it shows (the subset, the widths and the text layer are made from them)."""
    for char in text:
        if char not in hexes:
            glyph = advances.glyph(char)
            font.to_unicode.setdefault(glyph, char)
            font.widths.setdefault(glyph, round(advances.width_em(char) * 1000))
            hexes[char] = f"{glyph:04x}"
