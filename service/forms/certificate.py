"""The e-certificate (职称电子证书) as a PDF: request in, bytes out.

Every printed value has a fixed box on an A4 landscape page
(``service.documents.certificate_layout``). Python decides each value's font
size and line breaks: ``fit_text`` picks the largest size at which the text fits
its box, measured with the shipped font's advance widths, and the page prints the
lines as given (``certificate_drawing``, written by ``documents.page_pdf``). So no
value can push another, whatever its length within the contract's limits, and the
two seal areas are exact.

A certificate rendered before its organisations can seal it says so in a line
above the footer and in its metadata (``unsealed_notice``), and keeps the seal
areas clean for a stamp pressed by hand (线下盖章); sealed later, it is rendered
again without that line, every other box where it was.

Pure: the same request, number, identifier and URL give the same bytes.
Nothing is left to a layout engine, so none runs: the page is drawn in a few
milliseconds, where WeasyPrint took about 70 (bench/results/issue.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from service.contract.certificate import CertificateRequest
from service.documents.certificate_layout import (  # noqa: F401 - the layout's names are the document's too
    COLUMNS,
    INNER_FRAME,
    LABEL_W,
    MM_PT,
    NOTICE_BOX,
    ORG_LABELS,
    PAGE_MM,
    PHOTO_BOX,
    QR_BOX,
    QR_CAPTION_BOX,
    ROW_H,
    ROW_TOP,
    ROWS,
    SEAL_AREAS,
    SEAL_BOXES,
    SEAL_MM,
    SEAL_RECTS,
    SLOT_BY_KEY,
    SLOTS,
    Box,
    Rows,
    SealArea,
    Slot,
    certificate_slots,
)
from service.documents.filters import cn_date, mask_id
from service.documents.fit import LINE_HEIGHT, fit_text, name_in_two_lines, wrap_text
from service.documents.fonts import MAIN_FACE
from service.documents.page_pdf import Attachment, write_page_pdf
from service.documents.qr import qr_matrix
from service.documents.render import Renderer
from service.documents.tabular import PT_MM, advances_for
from service.documents.words import Segmenter, segmenter_for
from service.forms.certificate_drawing import TITLE_TRACKING_EM, draw_certificate
from service.forms.spec import midnight
from service.offline.payload import qr_text
from service.profiles.schema import Certificate as CertificateProfile

DEFAULT_TITLE = "专业技术资格证书"
# The faces the values are measured with, in the renderer's fonts folder.
REGULAR_FACE, BOLD_FACE = MAIN_FACE, "NotoSerifSC-Bold.otf"
# A value standing on its rule keeps this much room below (to the rule) and
# above (to the rule of the row above) its lines.
RULE_GAP_MM, TOP_GAP_MM = 0.8, 0.4


# --- the province's words ----------------------------------------------------------------


@dataclass(frozen=True)
class Wording:
    """What the province's profile decides of the page: its title's default, the rows and
    their labels, the organisations' labels, the QR caption, the ID number full or masked."""

    rows: Rows = ROWS
    org_labels: tuple[tuple[str, str], ...] = tuple(ORG_LABELS.items())
    qr_caption: str = "扫码查验"
    mask_id: bool = False
    original_number_label: str = "原证书编号"
    reissue_marks: tuple[tuple[str, str], ...] = (("补发", "补发"), ("换发", "换发"))
    terms: frozenset[str] = frozenset()  # the province's words, never broken inside

    @property
    def slots(self) -> tuple[Slot, ...]:
        return _slots_for(self.rows, self.org_labels)


def wording_of(profile: CertificateProfile, terms: frozenset[str] = frozenset()) -> Wording:
    labels = profile.labels
    return Wording(
        rows=tuple(((left, labels.get(left, "")), (right, labels.get(right, ""))) for left, right in profile.rows),
        org_labels=tuple((key, labels[key]) for key in ORG_LABELS),
        qr_caption=labels.get("qr_caption", "扫码查验"),
        mask_id=profile.id_number == "masked",
        original_number_label=labels.get("original_number", "原证书编号"),
        reissue_marks=tuple(profile.reissue_marks.items()),
        terms=terms,
    )


@lru_cache(maxsize=16)
def _slots_for(rows: Rows, org_labels: tuple[tuple[str, str], ...]) -> tuple[Slot, ...]:
    return certificate_slots(rows, org_labels)


DEFAULT_WORDING = Wording()


# --- fitting text into a box --------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """A value laid out in its slot: the lines the template prints, and where."""

    slot: Slot
    size_pt: float
    lines: tuple[str, ...]

    @property
    def top_mm(self) -> float:
        """Where the first line's box starts below the slot's top: in the middle, at the
        top, or standing RULE_GAP_MM above the rule."""
        room = self.slot.box.h - len(self.lines) * LINE_HEIGHT * self.size_pt * PT_MM
        return round({"middle": room / 2, "top": 0.0}.get(self.slot.valign, room - RULE_GAP_MM), 2)


class LayoutError(ValueError):
    """A text does not fit its box even at the smallest size.

    Never for a validated request (the contract's limits fit); it guards the
    values that come from configuration: the title, the number, the identifier."""


def place(slot: Slot, text: str, fonts_dir: Path, words: Segmenter | None = None) -> Placed:
    heading = slot.kind == "heading"
    width = slot.box.w - 2 * slot.pad
    tracking = TITLE_TRACKING_EM if heading else 0.0
    advances = advances_for(fonts_dir / (BOLD_FACE if heading else REGULAR_FACE))
    height = slot.box.h - (RULE_GAP_MM + TOP_GAP_MM if slot.valign == "bottom" else 0.0)
    size = fit_text(
        text,
        width,
        max_lines=slot.max_lines,
        max_pt=slot.max_pt,
        min_pt=slot.min_pt,
        box_height_mm=height,
        tracking_em=tracking,
        advances=advances,
        words=words,
    )
    lines = tuple(wrap_text(text, width, size, tracking_em=tracking, advances=advances, words=words))
    if (
        slot.kind == "org"
        and len(lines) == 2
        and (
            named := name_in_two_lines(
                text, width, size, slot.min_pt, tracking_em=tracking, advances=advances, words=words
            )
        )
    ):
        size, lines = named[0], tuple(named[1])
    if len(lines) > slot.max_lines or len(lines) * LINE_HEIGHT * size * PT_MM > height:
        raise LayoutError(f"{slot.key}: {text!r} does not fit its {slot.box.w:g} × {slot.box.h:g} mm box")
    return Placed(slot, size, lines)


# --- the document ------------------------------------------------------------------------


def field_values(
    request: CertificateRequest,
    *,
    number: str,
    identifier: str,
    title: str,
    notice: str | None = None,
    wording: Wording = DEFAULT_WORDING,
) -> dict[str, str]:
    """Every printed value, by slot key (``notice`` only on an unsealed certificate)."""
    holder, q = request.holder, request.qualification
    footer = f"证书编号 {number}　　电子证照标识 {identifier}"
    if request.replaces is not None:
        footer = f"{replaced_line(request, wording)}　　{footer}"
    return {
        "heading": title,
        "number": number,
        "name": holder.name,
        "gender": holder.gender,
        "birth": f"{holder.birth_date.year:04d}年{holder.birth_date.month:02d}月",
        "id_number": mask_id(holder.id_number) if wording.mask_id else holder.id_number,
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
        "footer": footer,
        **({"notice": notice} if notice else {}),
        **(
            {"id_type": holder.id_type} if any("id_type" in (left[0], right[0]) for left, right in wording.rows) else {}
        ),
    }


def replaced_line(request: CertificateRequest, wording: Wording) -> str:
    """``换发　原证书编号 9342…（原发证日期 2019年07月01日）``: what a new version replaces."""
    replaces = request.replaces
    assert replaces is not None
    mark = dict(wording.reissue_marks).get(replaces.kind, replaces.kind)
    line = f"{mark}　{wording.original_number_label} {replaces.original_number}"
    if replaces.original_issue_date is not None:
        line += f"（原发证日期 {cn_date(replaces.original_issue_date)}）"
    return line


def build_context(
    request: CertificateRequest,
    *,
    number: str,
    identifier: str,
    verify_url: str,
    fonts_dir: Path,
    title: str = DEFAULT_TITLE,
    with_photo: bool = True,
    notice: str | None = None,
    wording: Wording = DEFAULT_WORDING,
    offline_payload: str | None = None,
) -> dict:
    values = field_values(request, number=number, identifier=identifier, title=title, notice=notice, wording=wording)
    words = segmenter_for(wording.terms)
    photo = request.holder.photo.checked.fitted_jpeg if with_photo and request.holder.photo else None
    # The QR code as a bitmap of one pixel per module, drawn without smoothing: as sharp
    # as a vector, and a scaled copy serves the OFD twin.
    qr = qr_matrix(qr_text(verify_url, offline_payload))
    return {
        # The notice goes into the metadata too (/Subject, dc:description): a file passed on
        # without its page still says that it is unsealed.
        "doc": {"title": title, "description": notice},
        "fields": [place(slot, values[slot.key], fonts_dir, words) for slot in wording.slots if slot.key in values],
        "photo": {"jpeg": photo},
        "qr": {"modules": tuple(tuple(row) for row in qr), "caption": wording.qr_caption},
    }


def certificate_data(
    request: CertificateRequest, *, number: str, identifier: str, verify_url: str, offline_payload: str | None = None
) -> bytes:
    """The machine-readable copy attached to the PDF: what the page prints, as JSON.

    Without the photo: it is on the page already, and its base64 would make a
    certificate up to 7 MB larger."""
    data = {
        "number": number,
        "identifier": identifier,
        "verify_url": verify_url,
        **({"offline_payload": offline_payload} if offline_payload else {}),
        **request.model_dump(mode="json", exclude={"holder": {"photo"}}),
    }
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode()


def _source(
    request: CertificateRequest, *, number: str, identifier: str, verify_url: str, offline_payload: str | None
) -> Attachment:
    data = certificate_data(
        request, number=number, identifier=identifier, verify_url=verify_url, offline_payload=offline_payload
    )
    return Attachment(name="certificate.json", data=data, description="证书数据（机读）")


def _draw(
    renderer: Renderer,
    request: CertificateRequest,
    context: dict,
    wording: Wording,
    *,
    attachments: tuple[Attachment, ...] = (),
    public_notice: str | None = None,
) -> bytes:
    """PDF/A-3b dated by the issue date (never the clock)."""
    page, fonts = draw_certificate(
        context,
        fonts_dir=renderer.fonts_dir,
        wording_rows=wording.rows,
        slots=wording.slots,
        created=midnight(request.issue_date),
        attachments=attachments,
        public_notice=public_notice,
    )
    return write_page_pdf(page, fonts)


def render_certificate(
    renderer: Renderer,
    request: CertificateRequest,
    *,
    number: str,
    identifier: str,
    verify_url: str,
    province_title: str | None = None,
    unsealed_notice: str | None = None,
    wording: Wording = DEFAULT_WORDING,
    offline_payload: str | None = None,
) -> bytes:
    """The certificate before sealing: PDF/A-3b, one A4 landscape page, its data attached.

    ``province_title`` replaces 专业技术资格证书 where the province words it otherwise.
    ``unsealed_notice`` is for a certificate that will not be sealed now (its organisations
    have no e-seal yet): the sentence is printed above the footer and written into the
    metadata, and the seal areas stay empty for a stamp pressed by hand. Without it the
    page is the one the seals go on; the same request, number and URL give the same
    page with and without the notice, but for that line. ``offline_payload`` (ZC1:…) goes
    into the QR code after the URL's ``#``."""
    context = build_context(
        request,
        number=number,
        identifier=identifier,
        verify_url=verify_url,
        fonts_dir=renderer.fonts_dir,
        title=province_title or DEFAULT_TITLE,
        notice=unsealed_notice,
        wording=wording,
        offline_payload=offline_payload,
    )
    source = _source(
        request, number=number, identifier=identifier, verify_url=verify_url, offline_payload=offline_payload
    )
    return _draw(renderer, request, context, wording, attachments=(source,))


PUBLIC_NOTICE = "证书查验公开副本：不含照片及完整证件号码，不作为证书使用"


def render_public_copy(
    renderer: Renderer,
    request: CertificateRequest,
    *,
    number: str,
    identifier: str,
    verify_url: str,
    province_title: str | None = None,
    wording: Wording = DEFAULT_WORDING,
    offline_payload: str | None = None,
) -> bytes:
    """What an anonymous visitor may see of the certificate: the same page with the
    photo withheld, marked as a copy, unsealed, no data attached (the caller masks the
    ID number in ``request``)."""
    context = build_context(
        request,
        number=number,
        identifier=identifier,
        verify_url=verify_url,
        fonts_dir=renderer.fonts_dir,
        title=province_title or DEFAULT_TITLE,
        with_photo=False,
        wording=wording,
        offline_payload=offline_payload,
    )
    return _draw(renderer, request, context, wording, public_notice=PUBLIC_NOTICE)
