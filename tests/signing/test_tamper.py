"""The service validator catches tampering, foreign keys, revoked and expired seals."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from io import BytesIO

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from service.signing.devpki import Org, add_seal, generate_dev_pki, issue_crls, revoke_seal
from service.signing.errors import InvalidPdfError, SealingError
from service.signing.keys import signer_from_pem_bytes
from service.signing.seal import seal_certificate, seal_pdf
from service.signing.trust import build_validation_context, trust_from_dev_pki
from service.signing.validate import validate_pdf
from tests.signing.conftest import FROZEN, ORGS, VISIBLE_TEXT


def flip_visible_byte(pdf: bytes) -> bytes:
    """(a) change one byte of the page text, inside every seal's signed byte range."""
    at = pdf.index(VISIBLE_TEXT) + VISIBLE_TEXT.index(b"Zhang")
    return pdf[:at] + b"Y" + pdf[at + 1 :]


def rewrite_page_text(pdf: bytes) -> bytes:
    """(b1) an incremental update that replaces the page's content stream."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    forged = generic.StreamObject(
        stream_data=b"BT /F1 20 Tf 72 420 Td (" + VISIBLE_TEXT.replace(b"Zhang San", b"Li Si") + b") Tj ET"
    )
    page[pdf_name("/Contents")] = writer.add_object(forged)
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def add_free_text(pdf: bytes) -> bytes:
    """(b2) an incremental update that lays a FreeText annotation over the holder's name."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    annot = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/FreeText"),
            pdf_name("/Rect"): generic.ArrayObject(map(generic.FloatObject, (300, 410, 500, 440))),
            pdf_name("/Contents"): generic.TextStringObject("Holder: 李四"),
            pdf_name("/DA"): generic.TextStringObject("/Helv 20 Tf 0 g"),
        }
    )
    annots = generic.ArrayObject([writer.add_object(annot)])
    page[pdf_name("/Annots")] = annots
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def codes(report) -> set[str]:
    return {r.code for r in report.reasons}


@pytest.mark.parametrize("doc", ["sealed_bt", "sealed_lta"])
def test_a_changed_byte_is_caught(kit, doc, request):
    report = validate_pdf(flip_visible_byte(request.getfixturevalue(doc)), kit.trust, at=FROZEN)
    assert report.verdict == "invalid"
    # the archive timestamp covers the same bytes and fails with the seals
    assert codes(report) == ({"altered"} if doc == "sealed_bt" else {"altered", "doc_timestamp_invalid"})
    assert all(not s.intact for s in report.seals)
    assert all(s.pades_level is None for s in report.seals)


@pytest.mark.parametrize("tamper", [rewrite_page_text, add_free_text])
@pytest.mark.parametrize("doc", ["sealed_bt", "sealed_lta"])
def test_b_incremental_change_of_visible_text_is_caught(kit, doc, tamper, request):
    report = validate_pdf(tamper(request.getfixturevalue(doc)), kit.trust, at=FROZEN)
    assert report.verdict == "invalid"
    assert "altered" in codes(report)
    assert report.unpermitted_changes and report.changes_after_last_signature
    for seal in report.seals:
        assert seal.intact  # the signed revisions are untouched ...
        assert seal.modification_level == "OTHER" and not seal.docmdp_respected  # ... but not what followed


def test_c_foreign_key_is_untrusted(kit, blank_pdf):
    stranger = generate_dev_pki([("COMM01", ORGS[0][1], "committee")], FROZEN)
    pair = stranger.seal("COMM01")
    signer = signer_from_pem_bytes(pair.key_pem, pair.cert_pem, stranger.seal_ca.cert_pem)
    doc = seal_certificate(blank_pdf, kit.committee(signer=signer), kit.issuer(), "B-T")
    report = validate_pdf(doc, kit.trust, at=FROZEN)
    assert report.verdict == "invalid"
    assert codes(report) == {"untrusted"}
    committee, issuer = report.seals
    assert not committee.trusted and committee.intact
    assert issuer.valid and issuer.trusted


def _with_extra_seal(kit, code: str, **validity):
    pki = add_seal(kit.pki, Org(code, "某某市职称评审委员会（测试）", "committee"), FROZEN, **validity)
    pair = pki.seal(code)
    signer = signer_from_pem_bytes(pair.key_pem, pair.cert_pem, pki.seal_ca.cert_pem + pki.root.cert_pem)
    return pki, signer


def test_d_revoked_seal_is_caught(kit, blank_pdf):
    pki, signer = _with_extra_seal(kit, "REV01")
    pki = revoke_seal(pki, "REV01", revoked_at=FROZEN - timedelta(days=1), now=FROZEN)
    trust = trust_from_dev_pki(pki)
    doc = seal_certificate(blank_pdf, kit.committee(signer=signer), kit.issuer(), "B-T")
    report = validate_pdf(doc, trust, at=FROZEN)
    assert report.verdict == "invalid"
    assert codes(report) == {"revoked"}
    committee = report.seals[0]
    assert committee.revoked and committee.revocation_date == FROZEN - timedelta(days=1)
    # and nobody can make a B-LTA seal with it: revocation data is gathered before the DSS is written
    vc = build_validation_context(trust, moment=FROZEN, revocation_mode="require")
    lta = replace(kit.committee(signer=signer), level="B-LTA", validation_context=vc)
    with pytest.raises(SealingError):
        seal_pdf(blank_pdf, lta)


def test_d_revocation_after_the_timestamp_does_not_void_the_seal(kit, blank_pdf):
    pki, signer = _with_extra_seal(kit, "LATE01")
    doc = seal_certificate(blank_pdf, kit.committee(signer=signer), kit.issuer(), "B-T")
    later = FROZEN + timedelta(days=10)
    pki = revoke_seal(pki, "LATE01", revoked_at=FROZEN + timedelta(days=2), now=later)
    report = validate_pdf(doc, trust_from_dev_pki(pki), at=later)
    assert report.verdict == "valid", report.reasons
    assert report.seals[0].validated_at == FROZEN  # judged at the timestamp's time


def test_e_seal_issued_already_expired(kit, blank_pdf):
    pki, signer = _with_extra_seal(
        kit, "OLD01", not_before=FROZEN - timedelta(days=3 * 365), not_after=FROZEN - timedelta(days=365)
    )
    pki = issue_crls(pki, FROZEN)
    doc = seal_certificate(blank_pdf, kit.committee(signer=signer), kit.issuer(), "B-T")
    report = validate_pdf(doc, trust_from_dev_pki(pki), at=FROZEN)
    assert report.verdict == "invalid"
    assert codes(report) == {"expired"}
    assert report.seals[0].expired and report.seals[0].timestamp.valid


def test_e_validation_after_not_after(kit, sealed_bt):
    report = validate_pdf(sealed_bt, kit.trust, at=FROZEN + timedelta(days=6 * 366))
    assert report.verdict == "invalid"
    assert "expired" in codes(report)
    assert all(s.expired for s in report.seals)


def test_no_signatures(kit, blank_pdf):
    report = validate_pdf(blank_pdf, kit.trust, at=FROZEN)
    assert report.verdict == "invalid" and codes(report) == {"no_signatures"}


@pytest.mark.parametrize("junk", [b"", b"hello", b"%PDF-1.7\n%%EOF", b"\x89PNG\r\n\x1a\n0000"])
def test_non_pdf_raises_a_clear_error(kit, junk):
    with pytest.raises(InvalidPdfError):
        validate_pdf(junk, kit.trust, at=FROZEN)


def test_report_serialises(kit, sealed_lta):
    import json

    data = validate_pdf(sealed_lta, kit.trust, at=FROZEN).to_dict()
    text = json.dumps(data, ensure_ascii=False)
    assert data["verdict"] == "valid" and data["pades_level"] == "B-LTA"
    assert data["seals"][0]["certificate"]["sha256"] and "评审委员会" in text


def test_strict_mode_uses_the_revocation_data_in_the_document(kit, sealed_bt, sealed_lta):
    from service.signing.trust import TrustConfig

    no_crls = TrustConfig(roots=kit.trust.roots, intermediates=kit.trust.intermediates)
    lax = validate_pdf(sealed_bt, no_crls, at=FROZEN)
    assert lax.valid and not any(s.revocation_checked for s in lax.seals)
    strict = validate_pdf(sealed_bt, no_crls, strict=True, at=FROZEN)
    assert codes(strict) == {"revocation_unknown"}
    # B-LTA carries its CRLs in the DSS: strict validation needs nothing else
    report = validate_pdf(sealed_lta, no_crls, strict=True, at=FROZEN)
    assert report.valid and report.pades_level == "B-LTA", report.reasons


def test_a_damaged_seal_blob_is_reported_not_raised(kit, sealed_bt):
    import re

    contents = re.search(rb"/Contents\s*<([0-9a-fA-F]+)>", sealed_bt)
    start = contents.start(1)
    damaged = sealed_bt[:start] + b"00000000" + sealed_bt[start + 8 :]
    report = validate_pdf(damaged, kit.trust, at=FROZEN)
    assert report.verdict == "invalid"
    assert codes(report) == {"unreadable_signature", "altered"}  # the second seal covers the first's blob
    broken = next(s for s in report.seals if s.field_name == "Committee")
    assert broken.kind == "unknown" and broken.certificate is None
