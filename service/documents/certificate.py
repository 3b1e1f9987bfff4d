"""The e-certificate (职称电子证书) as a PDF: request in, bytes out.

Every printed value has a fixed box on an A4 landscape page (``SLOTS``, mm
from the page's top-left corner). Python, not the layout engine, decides each
value's font size and line breaks: ``fit_text`` picks the largest size at
which the text fits its box, measured with the shipped font's advance widths,
and the template prints the lines as given, never wrapping. So no value can
push another, whatever its length within the contract's limits, and the two
seal areas are exact: the 评委会 seal is centred on the committee's name, the
发证机关 seal on the issuer's name, lower right as is the custom.

Pure: the same request, number, identifier and URL give the same bytes.
Rendering time is dominated by WeasyPrint's cost per element (about 0.5 ms
each), so the template keeps to one element per value; the row labels of a
column are one element.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from service.contract.certificate import CertificateRequest
from service.documents.filters import cn_date
from service.documents.fit import LINE_HEIGHT, fit_text, wrap_text
from service.documents.photo import PHOTO_MM
from service.documents.qr import qr_png
from service.documents.render import PdfOptions, Renderer, SourceAttachment
from service.documents.tabular import PT_MM, advances_for
from service.forms.spec import midnight

TEMPLATE = "certificates/default/certificate.html"
DEFAULT_TITLE = "专业技术资格证书"
PAGE_MM = (297.0, 210.0)
MM_PT = 72 / 25.4
# The faces the values are measured with, in the renderer's fonts folder.
REGULAR_FACE, BOLD_FACE = "NotoSerifSC-Regular.otf", "NotoSerifSC-Bold.otf"
# Kept in step with style.css: the values' line height (LINE_HEIGHT, from fit), the title's letter-spacing.
TITLE_TRACKING_EM = 0.3
LABEL_PT = 10.5
# A value standing on its rule keeps this much room below (to the rule) and
# above (to the rule of the row above) its lines.
RULE_GAP_MM, TOP_GAP_MM = 0.8, 0.4


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
        return tuple(round(v * MM_PT, 2) for v in (self.x, top - self.bottom, self.right, top - self.y))

    def style(self) -> str:
        return f"left:{self.x:g}mm;top:{self.y:g}mm;width:{self.w:g}mm;height:{self.h:g}mm"


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
    valign: str = "bottom"  # bottom: standing on the box's rule (RULE_GAP above it); middle
    kind: str = "row"  # the css class: heading | row | org | date | small


# --- the page ---------------------------------------------------------------------

# Inside edge of the frame (style.css: html margin 6 + border 2.4 + body margin 1.6).
INNER_FRAME = Box(10.0, 10.0, 277.0, 190.0)
PHOTO_BOX = Box(22.0, 42.0, PHOTO_MM[0], PHOTO_MM[1])
QR_BOX = Box(27.0, 124.0, 25.0, 25.0)
QR_CAPTION_BOX = Box(22.0, 150.0, 35.0, 5.0)
SEAL_MM = 40.0

_ROW_TOP, _ROW_H, _LABEL_W, _VALUE_W = 42.0, 11.0, 24.0, 75.0
_COLUMNS = (66.0, 176.0)  # x of each column's labels; values start 2 mm after them
_ROWS = (
    (("number", "证书编号"), ("series", "系列")),
    (("name", "姓名"), ("specialty", "专业")),
    (("gender", "性别"), ("title", "资格名称")),
    (("birth", "出生年月"), ("level", "级别")),
    (("id_number", "证件号码"), ("route", "取得方式")),
    (("work_unit", "工作单位"), ("nature", "资格性质")),
    (("acquired_on", "取得资格时间"), ("approval_doc_no", "批准文号")),
)
# The organisations side by side, lower right: a label, then the name in a
# box the seal is centred on; the issue date under the issuer's seal.
_ORGS = ((112.0, "committee", "评审委员会"), (197.0, "issuer", "发证机关"))
_ORG_W, _ORG_LABEL_Y, _ORG_NAME_Y, _ORG_NAME_H = 80.0, 122.0, 139.0, 18.0


def _slots() -> tuple[Slot, ...]:
    slots = [Slot("heading", Box(38.5, 17.0, 220.0, 15.0), max_lines=1, max_pt=30.0, min_pt=16.0,
                  valign="middle", kind="heading")]  # fmt: skip
    for index, row in enumerate(_ROWS):
        y = _ROW_TOP + index * _ROW_H
        for x, (key, label) in zip(_COLUMNS, row):
            slots.append(Slot(key, Box(x + _LABEL_W + 2, y, _VALUE_W, _ROW_H), label, Box(x, y, _LABEL_W, _ROW_H),
                              pad=1.5))  # fmt: skip
    for x, key, label in _ORGS:
        slots.append(Slot(key, Box(x, _ORG_NAME_Y, _ORG_W, _ORG_NAME_H), label, Box(x, _ORG_LABEL_Y, _ORG_W, 6.0),
                          valign="middle", kind="org"))  # fmt: skip
    slots.append(Slot("issue_date", Box(223.0, 171.0, 54.0, 7.0), "发证日期", Box(197.0, 171.0, _LABEL_W, 7.0),
                      max_lines=1, max_pt=11.0, valign="middle", kind="date"))  # fmt: skip
    slots.append(Slot("footer", Box(22.0, 186.0, 255.0, 8.0), max_lines=2, max_pt=7.5, min_pt=5.0,
                      valign="middle", kind="small"))  # fmt: skip
    return tuple(slots)


def _seal_box(name_box: Box) -> Box:
    return Box(name_box.x + (name_box.w - SEAL_MM) / 2, name_box.y + (name_box.h - SEAL_MM) / 2, SEAL_MM, SEAL_MM)


SLOTS = _slots()
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


# --- fitting text into a box --------------------------------------------------------------

@dataclass(frozen=True)
class Placed:
    """A value laid out in its slot: the lines the template prints, and where."""

    slot: Slot
    size_pt: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The lines as printed (white-space: pre: a line break element would cost more)."""
        return "\n".join(self.lines)

    @property
    def style(self) -> str:
        box = self.slot.box
        room = box.h - len(self.lines) * LINE_HEIGHT * self.size_pt * PT_MM
        top = room / 2 if self.slot.valign == "middle" else room - RULE_GAP_MM
        pad = f";padding-left:{self.slot.pad:g}mm" if self.slot.pad else ""
        return f"{box.style()};padding-top:{top:.2f}mm;font-size:{self.size_pt:g}pt{pad}"


class LayoutError(ValueError):
    """A text does not fit its box even at the smallest size.

    Never for a validated request (the contract's limits fit); it guards the
    values that come from configuration: the title, the number, the identifier."""


def place(slot: Slot, text: str, fonts_dir: Path) -> Placed:
    heading = slot.kind == "heading"
    fit = {
        "box_width_mm": slot.box.w - 2 * slot.pad,
        "tracking_em": TITLE_TRACKING_EM if heading else 0.0,
        "advances": advances_for(fonts_dir / (BOLD_FACE if heading else REGULAR_FACE)),
    }
    height = slot.box.h - (RULE_GAP_MM + TOP_GAP_MM if slot.valign == "bottom" else 0.0)
    size = fit_text(text, max_lines=slot.max_lines, max_pt=slot.max_pt, min_pt=slot.min_pt,
                    box_height_mm=height, **fit)  # fmt: skip
    lines = tuple(wrap_text(text, size_pt=size, **fit))
    if len(lines) > slot.max_lines or len(lines) * LINE_HEIGHT * size * PT_MM > height:
        raise LayoutError(f"{slot.key}: {text!r} does not fit its {slot.box.w:g} × {slot.box.h:g} mm box")
    return Placed(slot, size, lines)


# --- the document ------------------------------------------------------------------------


def field_values(request: CertificateRequest, *, number: str, identifier: str, title: str) -> dict[str, str]:
    """Every printed value, by slot key."""
    holder, q = request.holder, request.qualification
    return {
        "heading": title,
        "number": number,
        "name": holder.name,
        "gender": holder.gender,
        "birth": f"{holder.birth_date.year:04d}年{holder.birth_date.month:02d}月",
        "id_number": holder.id_number,
        "work_unit": holder.work_unit,
        "acquired_on": cn_date(q.acquired_on),
        "series": q.series,
        "specialty": q.specialty,
        "title": q.title,
        "level": q.level,
        "route": q.route,
        "nature": q.nature,
        "approval_doc_no": q.approval_doc_no,
        "committee": request.committee.name,
        "issuer": request.issuer.name,
        "issue_date": cn_date(request.issue_date),
        "footer": f"证书编号 {number}　　电子证照标识 {identifier}",
    }


def label_blocks(fonts_dir: Path) -> list[dict]:
    """The labels: each column of row labels as one block of lines, then the others."""
    advances = advances_for(fonts_dir / REGULAR_FACE)

    def spread(label: str, width_mm: float) -> str:
        # Spaces let text-align-last: justify spread the characters (WeasyPrint
        # justifies at spaces only); a label too long for that stays as it is.
        spaced = " ".join(label)
        return spaced if advances.width_em(spaced) * LABEL_PT * PT_MM <= width_mm else label

    blocks = []
    for column, x in enumerate(_COLUMNS):
        box = Box(x, _ROW_TOP, _LABEL_W, _ROW_H * len(_ROWS))
        lines = [spread(row[column][1], _LABEL_W) for row in _ROWS]
        blocks.append({"kind": "row", "style": f"{box.style()};line-height:{_ROW_H:g}mm", "text": "\n".join(lines)})
    for slot in SLOTS:
        if slot.label and slot.kind != "row":
            text = slot.label if slot.kind == "org" else spread(slot.label, slot.label_box.w)
            blocks.append({"kind": slot.kind, "style": slot.label_box.style(), "text": text})
    return blocks


def build_context(request: CertificateRequest, *, number: str, identifier: str, verify_url: str, fonts_dir: Path,
                  title: str = DEFAULT_TITLE, with_photo: bool = True) -> dict:  # fmt: skip
    values = field_values(request, number=number, identifier=identifier, title=title)
    photo = request.holder.photo.checked.fitted_jpeg if with_photo else None
    # The QR code as a bitmap of one pixel per module, drawn without smoothing
    # (image-rendering: pixelated): as sharp as a vector and far cheaper to lay out.
    qr = qr_png(verify_url, scale=1)
    return {
        "doc": {"title": title, "created": f"{request.issue_date.isoformat()}T00:00:00+08:00"},
        "fields": [place(slot, values[slot.key], fonts_dir) for slot in SLOTS],
        "labels": label_blocks(fonts_dir),
        "photo": {"uri": "data:image/jpeg;base64," + base64.b64encode(photo).decode() if photo else None,
                  "style": PHOTO_BOX.style()},
        "qr": {
            "uri": "data:image/png;base64," + base64.b64encode(qr).decode(),
            "style": QR_BOX.style(),
            "caption_style": QR_CAPTION_BOX.style(),
        },
    }


def certificate_data(request: CertificateRequest, *, number: str, identifier: str, verify_url: str) -> bytes:
    """The machine-readable copy attached to the PDF: what the page prints, as JSON.

    Without the photo: it is on the page already, and its base64 would make a
    certificate up to 7 MB larger."""
    data = {"number": number, "identifier": identifier, "verify_url": verify_url,
            **request.model_dump(mode="json", exclude={"holder": {"photo"}})}  # fmt: skip
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode()


def pdf_options(request: CertificateRequest, *, number: str, identifier: str, verify_url: str) -> PdfOptions:
    """PDF/A-3b dated by the issue date (never the clock), the certificate data attached."""
    data = certificate_data(request, number=number, identifier=identifier, verify_url=verify_url)
    attachment = SourceAttachment(name="certificate.json", data=data, description="证书数据（机读）")
    return PdfOptions(date=midnight(request.issue_date), attachments=(attachment,))


def render_certificate(renderer: Renderer, request: CertificateRequest, *, number: str, identifier: str,
                       verify_url: str, province_title: str | None = None) -> bytes:  # fmt: skip
    """The unsealed certificate: PDF/A-3b, one A4 landscape page, its data attached.

    ``province_title`` replaces 专业技术资格证书 where the province words it otherwise."""
    context = build_context(request, number=number, identifier=identifier, verify_url=verify_url,
                            fonts_dir=renderer.fonts_dir, title=province_title or DEFAULT_TITLE)  # fmt: skip
    options = pdf_options(request, number=number, identifier=identifier, verify_url=verify_url)
    return renderer.render_pdf(TEMPLATE, context, options)


PUBLIC_NOTICE = "证书查验公开副本：不含照片及完整证件号码，不作为证书使用"


def render_public_copy(renderer: Renderer, request: CertificateRequest, *, number: str, identifier: str,
                       verify_url: str, province_title: str | None = None) -> bytes:  # fmt: skip
    """What an anonymous visitor may see of the certificate: the same page with the
    photo withheld, marked as a copy, unsealed, no data attached (the caller masks the
    ID number in ``request``)."""
    context = build_context(request, number=number, identifier=identifier, verify_url=verify_url,
                            fonts_dir=renderer.fonts_dir, title=province_title or DEFAULT_TITLE,
                            with_photo=False)  # fmt: skip
    context["public_notice"] = PUBLIC_NOTICE
    return renderer.render_pdf(TEMPLATE, context, PdfOptions(date=midnight(request.issue_date)))
