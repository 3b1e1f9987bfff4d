"""The certificate's OFD twin: the page the PDF prints (same boxes, sizes and lines, from
``service.forms.certificate.build_context``), its fonts subset to the characters it
prints, the photo and the QR code, GB/T 36903 metadata with the GB/T 36904 identifier,
then the committee's and the issuer's GB/T 38540 seals over the package.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image as PILImage

from service.contract.certificate import CertificateRequest
from service.documents.certificate_layout import (
    FRAME_LINES,
    PHOTO_BOX,
    QR_BOX,
    QR_CAPTION_BOX,
    SEAL_BOXES,
    UNDERLINE_MM,
    Box,
    outline_points,
    underline_points,
)
from service.documents.font_subset import main_face, rare_faces, subset_font
from service.documents.tabular import advances_for
from service.forms.certificate import (
    BOLD_FACE,
    DEFAULT_TITLE,
    DEFAULT_WORDING,
    REGULAR_FACE,
    Wording,
    build_context,
)
from service.forms.certificate_drawing import LABEL_PT, ORG_LABEL_TRACKING_EM, TITLE_TRACKING_EM
from service.signing.sm2 import Sm2Signer

from .package import Image, PageContent, Stroke, Text, package_files, text_of, zip_package
from .signatures import OfdSeal, sign_package

SEAL_RED = "200 16 16"
TITLE_RED = "163 29 29"  # #a31d1d


RULE_GREY = "102 102 102"  # #666


# The frame and the rules as the PDF draws them (certificate_layout).
FRAME = tuple(Stroke(outline_points(inset), width, TITLE_RED, closed=True) for inset, width in FRAME_LINES)


def _underline(box: Box) -> Stroke:
    """A value's rule: its box's 0.5 pt bottom border (border-box: inside the box)."""
    return Stroke(underline_points(box), UNDERLINE_MM, RULE_GREY)


@dataclass(frozen=True)
class OrgSeal:
    """One organisation's GB/T 38540 seal and its SM2 signer."""

    seal_der: bytes
    signer: Sm2Signer


def certificate_page(
    request: CertificateRequest,
    *,
    number: str,
    identifier: str,
    verify_url: str,
    fonts_dir: Path,
    title: str = DEFAULT_TITLE,
    wording: Wording = DEFAULT_WORDING,
    offline_payload: str | None = None,
) -> PageContent:
    """What the page prints, placed as the PDF places it: the same ``build_context``, so
    the same lines (word breaks from ``wording.terms``) and the same QR text, the signed
    offline payload after the URL's ``#``."""
    context = build_context(
        request,
        number=number,
        identifier=identifier,
        verify_url=verify_url,
        fonts_dir=fonts_dir,
        title=title,
        wording=wording,
        offline_payload=offline_payload,
    )
    # Aligned and coloured as the PDF draws them (forms.certificate_drawing).
    texts = [
        Text(
            p.slot.box,
            p.lines,
            p.size_pt,
            "middle" if p.slot.valign == "middle" else p.slot.valign,
            bold=p.slot.kind == "heading",
            colour=TITLE_RED if p.slot.kind == "heading" else "0 0 0",
            align="center" if p.slot.kind in ("heading", "org") else "left",
            tracking_em=TITLE_TRACKING_EM if p.slot.kind == "heading" else 0.0,
        )
        for p in context["fields"]
    ]
    for slot in wording.slots:
        if slot.label and slot.label_box is not None:
            spread = "center" if slot.kind == "org" else "justify"
            tracking = ORG_LABEL_TRACKING_EM if slot.kind == "org" else 0.0
            texts.append(Text(slot.label_box, (slot.label,), LABEL_PT, "middle", align=spread, tracking_em=tracking))
    texts.append(Text(QR_CAPTION_BOX, (wording.qr_caption,), 8.0, "middle", align="center"))
    images = [Image(QR_BOX, _qr_for_ofd(context["qr"]["modules"]), "PNG")]
    if request.holder.photo is not None:
        images.insert(0, Image(PHOTO_BOX, request.holder.photo.checked.fitted_jpeg, "JPEG"))
    rules = tuple(_underline(p.slot.box) for p in context["fields"] if p.slot.kind == "row")
    return PageContent(
        strokes=FRAME + rules,
        texts=tuple(texts),
        images=tuple(images),
        title=title,
        doc_id=identifier,
        created=request.issue_date.isoformat(),
        metadata={
            "identifier": identifier,
            "number": number,
            "holder": request.holder.name,
            "issuer": request.issuer.name,
        },
    )


def make_ofd(
    page: PageContent,
    fonts_dir: Path,
    seals: tuple[OrgSeal, ...],
    at: datetime,
    timestamp: Callable[[bytes], bytes | None] | None = None,
) -> bytes:
    """The sealed OFD package's bytes (committee first, issuer second); ``timestamp``: as
    ``ses.make_signature`` takes it."""
    chars = text_of(page)
    regular, bold = advances_for(fonts_dir / REGULAR_FACE), advances_for(fonts_dir / BOLD_FACE)
    files = package_files(
        page,
        subset_font(main_face(fonts_dir), chars),
        subset_font(main_face(fonts_dir, bold=True), chars),
        (regular.width_em, bold.width_em),
        rare_faces(fonts_dir, chars),
    )
    page_id = _page_id(files["Doc_0/Document.xml"])
    boxes = (SEAL_BOXES["Committee"], SEAL_BOXES["Issuer"])
    placed = tuple(OfdSeal(s.seal_der, s.signer, box, page_id) for s, box in zip(seals, boxes))
    return zip_package(sign_package(files, placed, at, timestamp))


def _qr_for_ofd(modules: tuple[tuple[bool, ...], ...]) -> bytes:
    """The PDF's own code (its modules, not the text encoded again), 8 pixels per module:
    an OFD viewer smooths a scaled bitmap (it has no image-rendering: pixelated)."""
    n = len(modules)
    small = PILImage.new("1", (n, n), 1)
    small.putdata([0 if dark else 1 for row in modules for dark in row])
    big = small.resize((n * 8, n * 8), PILImage.Resampling.NEAREST)
    out = io.BytesIO()
    big.save(out, "PNG", optimize=True)
    return out.getvalue()


def _page_id(document_xml: bytes) -> int:
    marker = b'<ofd:Page ID="'
    start = document_xml.index(marker) + len(marker)
    return int(document_xml[start : document_xml.index(b'"', start)])
