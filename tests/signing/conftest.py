"""Fixtures for the signing tests: a fresh development PKI in tmp, a frozen clock, a
one-page A4 landscape certificate PDF, seal styles and signers built once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

from service.documents.seal_image import default_seal_font, render_round_seal
from service.sealing.devpki_store import ensure_dev_pki
from service.signing.appearance import build_seal_style
from service.signing.devpki import DevPKI
from service.signing.keys import signer_from_pem_bytes
from service.signing.seal import SealField, SealRequest, add_seal_fields
from service.signing.trust import TrustConfig, build_validation_context, trust_from_dev_pki
from service.signing.tsa import build_dev_timestamper

FROZEN = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ORGS = [
    ("COMM01", "某某省工程技术系列高级职称评审委员会", "committee"),
    ("ISS01", "某某省人力资源和社会保障厅", "issuer"),
]
FIELDS = [
    SealField("Committee", 0, (520.0, 60.0, 633.4, 173.4)),
    SealField("Issuer", 0, (660.0, 60.0, 773.4, 173.4)),
]
VISIBLE_TEXT = b"Certificate No. ZC-2026-000123 Holder: Zhang San"


def make_certificate_pdf(text: bytes = VISIBLE_TEXT) -> bytes:
    """One A4 landscape page with an uncompressed text stream (tests edit it)."""
    writer = PdfFileWriter()
    font = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Font"),
            pdf_name("/Subtype"): pdf_name("/Type1"),
            pdf_name("/BaseFont"): pdf_name("/Helvetica"),
        }
    )
    resources = generic.DictionaryObject(
        {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): writer.add_object(font)})}
    )
    stream = generic.StreamObject(stream_data=b"BT /F1 20 Tf 72 420 Td (" + text + b") Tj ET")
    page = PageObject(contents=writer.add_object(stream), media_box=(0, 0, 842, 595), resources=resources)
    writer.insert_page(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


@dataclass
class Kit:
    """Everything a sealing test needs, built once per PKI (like a worker process)."""

    pki: DevPKI
    keys_dir: Path
    trust: TrustConfig
    timestamper: object
    signers: dict
    styles: dict

    def request(self, code: str, kind: str, field: str, level: str = "B-T", signer=None, **kw) -> SealRequest:
        vc = None
        if level == "B-LTA":
            vc = build_validation_context(self.trust, moment=FROZEN, revocation_mode="require")
        return SealRequest(
            signer=signer or self.signers[code],
            field_name=field,
            kind=kind,
            stamp=self.styles[code],
            timestamper=self.timestamper,
            level=level,
            validation_context=vc,
            **kw,
        )

    def committee(self, level="B-T", **kw) -> SealRequest:
        return self.request("COMM01", "certify", "Committee", level, **kw)

    def issuer(self, level="B-T", **kw) -> SealRequest:
        return self.request("ISS01", "approve", "Issuer", level, **kw)


def build_kit(pki: DevPKI, keys_dir: Path, styles: dict) -> Kit:
    chain = pki.seal_ca.cert_pem + pki.root.cert_pem
    signers = {code: signer_from_pem_bytes(pair.key_pem, pair.cert_pem, chain) for code, pair in pki.seals.items()}
    ts = build_dev_timestamper(pki.tsa.cert_pem, pki.tsa.key_pem, fixed_time=FROZEN)
    return Kit(pki, keys_dir, trust_from_dev_pki(pki), ts, signers, styles)


def seal_png(name: str, bottom: str | None) -> bytes:
    font = default_seal_font()
    if font.is_file():
        return render_round_seal(name, bottom, font)
    # No CJK font on this machine (test_seal_image skips): a plain ring still exercises sealing.
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (473, 473), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((5, 5, 467, 467), outline=(215, 0, 15, 255), width=14)
    out = BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="session")
def seal_styles():
    return {
        "COMM01": build_seal_style(seal_png(ORGS[0][1], "职称评审专用章")),
        "ISS01": build_seal_style(seal_png(ORGS[1][1], None)),
    }


@pytest.fixture(scope="session")
def kit(tmp_path_factory, seal_styles) -> Kit:
    keys_dir = tmp_path_factory.mktemp("keys")
    pki = ensure_dev_pki(keys_dir, ORGS, FROZEN)
    return build_kit(pki, keys_dir, seal_styles)


@pytest.fixture(scope="session")
def blank_pdf() -> bytes:
    return add_seal_fields(make_certificate_pdf(), FIELDS)


@pytest.fixture(scope="session")
def sealed_bt(kit, blank_pdf) -> bytes:
    from service.signing.seal import seal_certificate

    return seal_certificate(blank_pdf, kit.committee(), kit.issuer(), "B-T")


@pytest.fixture(scope="session")
def sealed_lta(kit, blank_pdf) -> bytes:
    from service.signing.seal import seal_certificate

    return seal_certificate(blank_pdf, kit.committee("B-LTA"), kit.issuer("B-LTA"), "B-LTA")
