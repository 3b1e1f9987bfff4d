"""The certificate's page as ``documents.page_pdf`` draws it: every value in its fixed box
at the size and with the line breaks ``forms.certificate.place`` chose, every label, the
photo, the QR code, the frame and the rules.

What things look like (colours, label spacing, line heights) is decided here, as a
stylesheet would: values #1a1a1a, labels #333, the title and the frame #a31d1d, a
label spread over its column when its characters fit with room between them, each
line's baseline where the forms' layout engine puts it in a line box of its height.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from service.documents.certificate_layout import (
    COLUMNS,
    FRAME_LINES,
    LABEL_W,
    PAGE_MM,
    PHOTO_BOX,
    QR_BOX,
    QR_CAPTION_BOX,
    ROW_H,
    ROW_TOP,
    UNDERLINE_MM,
    outline_points,
    underline_points,
)
from service.documents.fit import LINE_HEIGHT
from service.documents.font_subset import main_face, rare_faces, subset_font
from service.documents.fonts import MAIN_FACE
from service.documents.page_pdf import ASCENT, DESCENT, Attachment, Colour, Face, Fonts, Line, Page, Picture, Rule
from service.documents.synthetic_bold import embolden_font
from service.documents.tabular import PT_MM, Advances, advances_for

TEXT: Colour = (26, 26, 26)  # #1a1a1a
LABEL: Colour = (51, 51, 51)  # #333
SMALL: Colour = (68, 68, 68)  # #444
RED: Colour = (163, 29, 29)  # #a31d1d: the title, the frame, an unsealed certificate's notice
RULE_GREY: Colour = (102, 102, 102)  # #666
PHOTO_EDGE: Colour = (136, 136, 136)  # #888
WITHHELD_FILL: Colour = (244, 244, 244)  # #f4f4f4
WITHHELD_TEXT: Colour = (119, 119, 119)  # #777
COPY_RED: Colour = (179, 18, 27)  # #b3121b
LABEL_PT = 10.5
TITLE_TRACKING_EM = ORG_LABEL_TRACKING_EM = 0.3
ROW_LABEL_DROP_MM = 2.2  # a row's label on the baseline of a one-line value at 13 pt
ORG_LABEL_LINE_MM, DATE_LABEL_LINE_MM = 6.0, 7.0
QR_CAPTION_PT, QR_CAPTION_LINE_MM = 8.0, 5.0
# The public copy's notice inside the frame, above the title (at 6 mm it stood on the frame's lines).
COPY_NOTICE_PT, COPY_NOTICE_TOP_MM, COPY_NOTICE_TRACKING_EM = 9.0, 11.0, 0.1
WITHHELD_PT, WITHHELD_LINE_MM = 9.0, 49.0
PHOTO_EDGE_PT = 0.4
VALUE_COLOURS = {"heading": RED, "notice": RED, "small": SMALL}
CENTRED = ("heading", "org", "notice")


def draw_certificate(
    context: dict,
    *,
    fonts_dir: Path,
    wording_rows: tuple,
    slots: Iterable,
    created: datetime,
    attachments: tuple[Attachment, ...] = (),
    public_notice: str | None = None,
) -> tuple[Page, Fonts]:
    """The page of ``context`` (``forms.certificate.build_context``) and the fonts it is set in."""
    lines = [_value_line(placed, index) for placed in context["fields"] for index in range(len(placed.lines))]
    lines += _row_labels(fonts_dir, wording_rows)
    lines += _other_labels(fonts_dir, slots)
    lines.append(
        Line(
            QR_CAPTION_BOX.x,
            QR_CAPTION_BOX.y,
            QR_CAPTION_BOX.w,
            QR_CAPTION_LINE_MM,
            context["qr"]["caption"],
            QR_CAPTION_PT,
            colour=LABEL,
            align="center",
        )
    )
    rules = [Rule(outline_points(inset), width, RED, closed=True) for inset, width in FRAME_LINES]
    rules += [
        Rule(underline_points(p.slot.box), UNDERLINE_MM, RULE_GREY) for p in context["fields"] if p.slot.kind == "row"
    ]
    box = PHOTO_BOX
    pictures = [Picture(QR_BOX.x, QR_BOX.y, QR_BOX.w, QR_BOX.h, modules=context["qr"]["modules"])]
    jpeg = context["photo"]["jpeg"]
    if jpeg is not None:
        pictures.insert(0, Picture(box.x, box.y, box.w, box.h, jpeg=jpeg))
    else:
        corners = ((box.x, box.y), (box.right, box.y), (box.right, box.bottom), (box.x, box.bottom))
        rules.append(Rule(corners, 0.0, WITHHELD_FILL, fill=True))
        lines.append(
            Line(box.x, box.y, box.w, WITHHELD_LINE_MM, "照片不公开", WITHHELD_PT, colour=WITHHELD_TEXT, align="center")
        )
    if public_notice:
        height = (ASCENT + DESCENT) * COPY_NOTICE_PT * PT_MM  # line-height: normal
        lines.append(
            Line(
                0.0,
                COPY_NOTICE_TOP_MM,
                PAGE_MM[0],
                height,
                public_notice,
                COPY_NOTICE_PT,
                colour=COPY_RED,
                align="center",
                tracking_em=COPY_NOTICE_TRACKING_EM,
            )
        )
    edge = PHOTO_EDGE_PT * PT_MM / 2  # an outline: outside the box
    left, top, right, bottom = box.x - edge, box.y - edge, box.right + edge, box.bottom + edge
    outline = ((left, top), (right, top), (right, bottom), (left, bottom))
    page = Page(
        PAGE_MM[0],
        PAGE_MM[1],
        tuple(lines),
        pictures=tuple(pictures),
        rules=tuple(rules),
        overlays=(Rule(outline, PHOTO_EDGE_PT * PT_MM, PHOTO_EDGE, closed=True),),
        title=context["doc"]["title"],
        description=context["doc"]["description"],
        created=created,
        attachments=attachments,
    )
    return page, fonts_for(fonts_dir, page)


def fonts_for(fonts_dir: Path, page: Page) -> Fonts:
    """The Noto faces cut to the page's characters, and the rare faces for those they lack
    (emboldened for bold text, which has no bold of its own there)."""
    chars = "".join(sorted({char for line in page.lines for char in line.text}))
    regular = Face("NotoSerifSC-Regular", subset_font(main_face(fonts_dir), chars))
    bold = Face("NotoSerifSC-Bold", subset_font(main_face(fonts_dir, bold=True), chars))
    fallbacks = rare_faces(fonts_dir, chars)
    bold_chars = {char for line in page.lines if line.bold for char in line.text}
    return Fonts(
        regular,
        bold,
        tuple((Face(f.name, f.data), f.chars) for f in fallbacks),
        tuple(
            (Face(f.name + "-Bold", embolden_font(f.data) or f.data), f.chars)
            for f in fallbacks
            if f.chars & bold_chars
        ),
    )


def _value_line(placed, index: int) -> Line:
    slot, size = placed.slot, placed.size_pt
    box = slot.box
    line_mm = LINE_HEIGHT * size * PT_MM
    return Line(
        box.x + slot.pad,
        box.y + placed.top_mm + index * line_mm,
        box.w - slot.pad,
        line_mm,
        placed.lines[index],
        size,
        bold=slot.kind == "heading",
        colour=VALUE_COLOURS.get(slot.kind, TEXT),
        align="center" if slot.kind in CENTRED else "left",
        tracking_em=TITLE_TRACKING_EM if slot.kind == "heading" else 0.0,
        indent_em=TITLE_TRACKING_EM if slot.kind == "heading" else 0.0,
    )


def _spread(advances: Advances, label: str, width_mm: float, size: float = LABEL_PT) -> str:
    """justify, when the label's characters fit its width with a space between each two;
    left otherwise (as a stylesheet justifying at spaces would)."""
    return "justify" if advances.width_em(" ".join(label)) * size * PT_MM <= width_mm else "left"


def _row_labels(fonts_dir: Path, rows: tuple) -> list[Line]:
    """Each row's label in its column; a label too long for the column at the labels'
    size (取得资格时所在单位) a size smaller, on one line."""
    advances = advances_for(fonts_dir / MAIN_FACE)
    lines = []
    for column, x in enumerate(COLUMNS):
        for index, row in enumerate(rows):
            label = row[column][1]
            if not label:
                continue
            top = ROW_TOP + index * ROW_H + ROW_LABEL_DROP_MM
            width = advances.width_em(label) * LABEL_PT * PT_MM
            if width <= LABEL_W:
                align = _spread(advances, label, LABEL_W)
                lines.append(Line(x, top, LABEL_W, ROW_H, label, LABEL_PT, colour=LABEL, align=align))
            else:
                # A few percent of slack, as for the forms' layout engine, which at exactly
                # the column's width might wrap the last character.
                size = round(max(6.0, LABEL_PT * LABEL_W / width * 0.96), 2)
                lines.append(Line(x, top, LABEL_W, ROW_H, label, size, colour=LABEL))
    return lines


def _other_labels(fonts_dir: Path, slots: Iterable) -> list[Line]:
    advances = advances_for(fonts_dir / MAIN_FACE)
    lines = []
    for slot in slots:
        if not slot.label or slot.kind == "row" or slot.label_box is None:
            continue
        box = slot.label_box
        if slot.kind == "org":
            lines.append(
                Line(
                    box.x,
                    box.y,
                    box.w,
                    ORG_LABEL_LINE_MM,
                    slot.label,
                    LABEL_PT,
                    colour=LABEL,
                    align="center",
                    tracking_em=ORG_LABEL_TRACKING_EM,
                    indent_em=ORG_LABEL_TRACKING_EM,
                )
            )
        else:
            line_mm = DATE_LABEL_LINE_MM if slot.kind == "date" else LINE_HEIGHT * LABEL_PT * PT_MM
            align = _spread(advances, slot.label, box.w)
            lines.append(Line(box.x, box.y, box.w, line_mm, slot.label, LABEL_PT, colour=LABEL, align=align))
    return lines
