"""The certificate's OFD twin: the page the PDF prints (same boxes, sizes and lines, from
``service.forms.certificate.build_context``), its fonts subset to the characters it
prints, the photo and the QR code, GB/T 36903 metadata with the GB/T 36904 identifier,
then the committee's and the issuer's GB/T 38540 seals over the package.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import uharfbuzz as hb
from PIL import Image as PILImage

from service.contract.certificate import CertificateRequest
from service.documents.certificate_layout import PAGE_MM, PHOTO_BOX, QR_BOX, QR_CAPTION_BOX, SEAL_BOXES, Box
from service.documents.tabular import advances_for
from service.forms.certificate import (
    BOLD_FACE,
    DEFAULT_TITLE,
    DEFAULT_WORDING,
    LABEL_PT,
    REGULAR_FACE,
    TITLE_TRACKING_EM,
    Wording,
    build_context,
)
from service.signing.sm2 import Sm2Signer

from .package import Fallback, Image, PageContent, Stroke, Text, package_files, text_of, zip_package
from .signatures import OfdSeal, sign_package

SEAL_RED = "200 16 16"
TITLE_RED = "163 29 29"  # #a31d1d
ORG_LABEL_TRACKING_EM = 0.3


RULE_GREY = "102 102 102"  # #666
PT = 25.4 / 72


def _outline(inset: float, width: float, colour: str) -> Stroke:
    """A rectangle's outline ``inset`` mm inside the page, centred on its stroke."""
    x0, y0, x1, y1 = inset, inset, PAGE_MM[0] - inset, PAGE_MM[1] - inset
    return Stroke(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), width, colour, closed=True)


# The frame as templates/certificates/default/style.css draws it: the root's 2.4 mm double
# border 6 mm inside the page (two 0.8 mm lines 0.8 mm apart), the body's 0.6 pt rule
# 1.6 mm inside that.
FRAME = (
    _outline(6.0 + 0.4, 0.8, TITLE_RED),
    _outline(6.0 + 2.4 - 0.4, 0.8, TITLE_RED),
    _outline(6.0 + 2.4 + 1.6 + 0.3 * PT, 0.6 * PT, TITLE_RED),
)


def _underline(box: Box) -> Stroke:
    """A value's rule: its box's 0.5 pt bottom border (border-box: inside the box)."""
    y = box.y + box.h - 0.25 * PT
    return Stroke(((box.x, y), (box.x + box.w, y)), 0.5 * PT, RULE_GREY)


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
    # Aligned and coloured as templates/certificates/default/style.css sets them.
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
    images = [Image(QR_BOX, _qr_for_ofd(context["qr"]["uri"]), "PNG")]
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
    faces = fonts_dir / OFD_FACES
    regular, bold = advances_for(fonts_dir / REGULAR_FACE), advances_for(fonts_dir / BOLD_FACE)
    files = package_files(
        page,
        subset_font(faces / _ttf(REGULAR_FACE), chars),
        subset_font(faces / _ttf(BOLD_FACE), chars),
        (regular.width_em, bold.width_em),
        rare_faces(fonts_dir, chars),
    )
    page_id = _page_id(files["Doc_0/Document.xml"])
    boxes = (SEAL_BOXES["Committee"], SEAL_BOXES["Issuer"])
    placed = tuple(OfdSeal(s.seal_der, s.signer, box, page_id) for s, box in zip(seals, boxes))
    return zip_package(sign_package(files, placed, at, timestamp))


# The Noto faces with TrueType outlines (fonts/build_fonts.py): the OFD readers built on
# ReportLab (easyofd) print no text in a CFF face; the PDF keeps the shipped OpenType ones.
OFD_FACES = "ofd"


# The faces the PDF takes a name's rare characters from (CJK Extension A/B and beyond,
# which Noto Serif SC lacks), in the order its stylesheet names them.
RARE_FACES = ("HanaMinA.ttf", "HanaMinB.ttf")


def rare_faces(fonts_dir: Path, chars: str) -> tuple[Fallback, ...]:
    """The subsets of the rare faces that set the characters the Noto face lacks (none
    for most certificates); a character no face has is left to the main face (a blank)."""
    missing = [char for char in chars if ord(char) not in _cmap(fonts_dir / OFD_FACES / _ttf(REGULAR_FACE))]
    faces = []
    for name in RARE_FACES:
        path = fonts_dir / name
        covered = "".join(char for char in missing if ord(char) in _cmap(path))
        if covered:
            faces.append(Fallback(path.stem, subset_font(path, covered), frozenset(covered)))
            missing = [char for char in missing if char not in covered]
    return tuple(faces)


@lru_cache(maxsize=8)
def _cmap(path: Path) -> frozenset[int]:
    return frozenset(_face(path).unicodes)


def _ttf(face: str) -> str:
    return face.rsplit(".", 1)[0] + ".ttf"


def subset_font(path: Path, chars: str) -> bytes:
    """The face cut to ``chars`` (and .notdef): a few kB instead of 3 MB.

    HarfBuzz's hb-subset, not fontTools: about 1.5 ms for a certificate's hundred
    characters where fontTools took about 2 s walking the CJK face's CFF
    (bench/results/ofd.md). No layout features (an OFD viewer places each character by
    its advance, it does not shape) and no hinting; every name kept (the viewers match
    the face by its names)."""
    return _subset(path, chars)


@lru_cache(maxsize=256)
def _subset(path: Path, chars: str) -> bytes:
    request = hb.SubsetInput()
    request.unicode_set.update(ord(char) for char in chars)
    request.layout_feature_tag_set.clear()
    request.name_id_set.clear()
    request.name_id_set.invert()  # all names: the empty set inverted (the default set is 0–6)
    request.flags = hb.SubsetFlags.NO_HINTING | hb.SubsetFlags.NOTDEF_OUTLINE
    subset = hb.subset(_face(path), request)
    if subset is None:
        raise ValueError(f"HarfBuzz could not subset {path.name}")
    return bytes(subset.blob.data)


@lru_cache(maxsize=8)
def _face(path: Path) -> hb.Face:
    # Read once per process: about 5 ms for the 3 MB face, then shared by every subset.
    return hb.Face(hb.Blob.from_file_path(str(path)))


def _qr_for_ofd(data_uri: str) -> bytes:
    """The PDF's own code, one pixel per module, scaled to 8 pixels per module: an OFD
    viewer smooths a scaled bitmap (it has no image-rendering: pixelated). Scaling the
    PDF's bitmap, not encoding the text again, gives the same code at no cost (encoding
    is about 20 ms: qrcode tries every mask)."""
    small = PILImage.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1])))
    big = small.resize((small.width * 8, small.height * 8), PILImage.Resampling.NEAREST)
    out = io.BytesIO()
    big.save(out, "PNG", optimize=True)
    return out.getvalue()


def _page_id(document_xml: bytes) -> int:
    marker = b'<ofd:Page ID="'
    start = document_xml.index(marker) + len(marker)
    return int(document_xml[start : document_xml.index(b'"', start)])
