"""Where everything goes on the e-certificate: the page, its boxes, the two seal areas.

A4 landscape, mm from the page's top-left corner. Every printed value has a
fixed box (``SLOTS``); ``service.forms.certificate`` fits each value into
its box. The seal areas lie lower right, as is the custom, and press down on
the signing body's name (and, for the 发证机关, on the issue date) the way
GB/T 9704-2012 7.3.5.1 places a seal on an official document: the name and
the date sit slightly below the seal's centre, so that the star stays above
the text. ``NOTICE_BOX`` holds the line an unsealed certificate prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from service.documents.photo import PHOTO_MM
from service.documents.seal_image import STAR_RATIO

PAGE_MM = (297.0, 210.0)
MM_PT = 72 / 25.4


@dataclass(frozen=True)
class Box:
    """A rectangle in mm from the page's top-left corner."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def intersects(self, other: Box) -> bool:
        return self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom

    def rect_pt(self) -> tuple[float, float, float, float]:
        """(x1, y1, x2, y2) in PDF points, origin at the page's bottom-left corner."""
        top = PAGE_MM[1]
        x1, y1, x2, y2 = (round(v * MM_PT, 2) for v in (self.x, top - self.bottom, self.right, top - self.y))
        return x1, y1, x2, y2


@dataclass(frozen=True)
class Slot:
    """Where one value prints, and how far it may shrink."""

    key: str
    box: Box
    label: str | None = None
    label_box: Box | None = None
    max_lines: int = 3
    max_pt: float = 13.0
    min_pt: float = 7.0
    pad: float = 0.0  # mm of room left and right inside the box
    valign: str = "bottom"  # bottom: standing on the box's rule (RULE_GAP above it); middle; top
    kind: str = "row"  # the css class: heading | row | org | date | small | notice


# --- the page ---------------------------------------------------------------------

# Inside edge of the frame (FRAME_LINES: 6 mm margin, 2.4 mm double border, 1.6 mm inside it).
INNER_FRAME = Box(10.0, 10.0, 277.0, 190.0)
PHOTO_BOX = Box(22.0, 42.0, PHOTO_MM[0], PHOTO_MM[1])
# 35 mm: the offline payload makes the code version 13 or so (77 modules with the quiet
# zone: 0.45 mm each, above qr.MIN_MODULE_MM); the URL alone was 25 mm.
QR_BOX = Box(22.0, 114.0, 35.0, 35.0)
QR_CAPTION_BOX = Box(22.0, 150.0, 35.0, 5.0)
SEAL_MM = 40.0

ROW_TOP, ROW_H, LABEL_W, VALUE_W = 42.0, 11.0, 24.0, 75.0
COLUMNS = (66.0, 176.0)  # x of each column's labels; values start 2 mm after them
ROWS = (
    (("number", "证书编号"), ("series", "系列")),
    (("name", "姓名"), ("specialty", "专业")),
    (("gender", "性别"), ("title", "资格名称")),
    (("birth", "出生年月"), ("level", "级别")),
    (("id_number", "证件号码"), ("route", "取得方式")),
    (("work_unit", "工作单位"), ("nature", "资格性质")),
    (("acquired_on", "取得资格时间"), ("approval_doc_no", "批准文号")),
)
# The organisations side by side, lower right: a label, then the seal, which presses
# down on the name (at most two lines), the issue date under the issuer's name.
_ORGS = ((111.0, "committee", "评审委员会"), (199.0, "issuer", "发证机关"))
_ORG_W, _ORG_LABEL_Y = 78.0, 120.5
SEAL_CENTRE_Y = 147.0
# The star's lowest points lie 0.16 × cos 36° of the seal's diameter below its centre
# (service.documents.seal_image): the name starts just below them.
_ORG_NAME_Y = SEAL_CENTRE_Y + STAR_RATIO * SEAL_MM * math.cos(math.radians(36)) + 0.5
_ORG_NAME_H = 11.5  # two lines at 13 pt
_DATE_Y = _ORG_NAME_Y + _ORG_NAME_H + 0.3
NOTICE_BOX = Box(22.0, 179.0, 255.0, 6.0)


# The labels of what is not a row: the organisations, the issue date.
ORG_LABELS = {"committee": "评审委员会", "issuer": "发证机关", "issue_date": "发证日期"}
Rows = tuple[tuple[tuple[str, str], tuple[str, str]], ...]


def certificate_slots(rows: Rows = ROWS, org_labels: tuple[tuple[str, str], ...] = ()) -> tuple[Slot, ...]:
    """Every box of the page. ``rows`` (key and label, left then right; an empty key leaves
    its side empty) and the organisations' labels come from the province's profile; at
    most as many rows as the default's seven fit above the organisations."""
    if len(rows) > len(ROWS):
        raise ValueError(f"at most {len(ROWS)} rows fit on the certificate, not {len(rows)}")
    labels = {**ORG_LABELS, **dict(org_labels)}
    slots = [
        Slot(
            "heading",
            Box(38.5, 17.0, 220.0, 15.0),
            max_lines=1,
            max_pt=30.0,
            min_pt=16.0,
            valign="middle",
            kind="heading",
        )
    ]
    for index, row in enumerate(rows):
        y = ROW_TOP + index * ROW_H
        for x, (key, label) in zip(COLUMNS, row):
            if key:
                slots.append(
                    Slot(key, Box(x + LABEL_W + 2, y, VALUE_W, ROW_H), label, Box(x, y, LABEL_W, ROW_H), pad=1.5)
                )
    for x, key, _label in _ORGS:
        # Two lines at most: a third would run into the seal's 职称评审专用章; the
        # contract's longest names (60 characters) fit two lines at 7.5 pt.
        slots.append(
            Slot(
                key,
                Box(x, _ORG_NAME_Y, _ORG_W, _ORG_NAME_H),
                labels[key],
                Box(x, _ORG_LABEL_Y, _ORG_W, 6.0),
                max_lines=2,
                min_pt=6.25,
                valign="top",
                kind="org",
            )
        )
    slots.append(
        Slot(
            "issue_date",
            Box(232.0, _DATE_Y, 45.0, 6.0),
            labels["issue_date"],
            Box(208.0, _DATE_Y, 22.0, 6.0),
            max_lines=1,
            max_pt=11.0,
            valign="middle",
            kind="date",
        )
    )
    slots.append(Slot("notice", NOTICE_BOX, max_lines=1, max_pt=9.0, min_pt=6.0, valign="middle", kind="notice"))
    slots.append(
        Slot("footer", Box(22.0, 186.0, 255.0, 8.0), max_lines=2, max_pt=7.5, min_pt=5.0, valign="middle", kind="small")
    )
    return tuple(slots)


def _seal_box(name_box: Box) -> Box:
    """The seal over an organisation's name: centred on it across, its centre above it."""
    return Box(name_box.x + (name_box.w - SEAL_MM) / 2, SEAL_CENTRE_Y - SEAL_MM / 2, SEAL_MM, SEAL_MM)


SLOTS = certificate_slots()
SLOT_BY_KEY = {slot.key: slot for slot in SLOTS}
SEAL_BOXES = {"Committee": _seal_box(SLOT_BY_KEY["committee"].box), "Issuer": _seal_box(SLOT_BY_KEY["issuer"].box)}


@dataclass(frozen=True)
class SealArea:
    """Where a seal goes: its signature field's name, page and /Rect (PDF points)."""

    name: str
    page: int
    rect: tuple[float, float, float, float]


# The 评委会's and the 发证机关's seal areas, in sealing order, for the sealing code.
SEAL_AREAS = tuple(SealArea(name, 0, box.rect_pt()) for name, box in SEAL_BOXES.items())
SEAL_RECTS = {area.name: area.rect for area in SEAL_AREAS}


# --- the frame and the rules, as both formats draw them ---------------------------------

_PT_MM = 25.4 / 72
# The page's frame: a 2.4 mm double border 6 mm inside the page (two 0.8 mm lines 0.8 mm
# apart) and a fine 0.6 pt rule 1.6 mm inside that: (inset of the line's centre, width), mm.
FRAME_LINES = ((6.0 + 0.4, 0.8), (6.0 + 2.4 - 0.4, 0.8), (6.0 + 2.4 + 1.6 + 0.3 * _PT_MM, 0.6 * _PT_MM))
UNDERLINE_MM = 0.5 * _PT_MM  # a row value's rule, inside its box's bottom edge


def outline_points(inset: float) -> tuple[tuple[float, float], ...]:
    """The corners of a rectangle ``inset`` mm inside the page."""
    x0, y0, x1, y1 = inset, inset, PAGE_MM[0] - inset, PAGE_MM[1] - inset
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def underline_points(box: Box) -> tuple[tuple[float, float], ...]:
    y = box.y + box.h - UNDERLINE_MM / 2
    return ((box.x, y), (box.x + box.w, y))
