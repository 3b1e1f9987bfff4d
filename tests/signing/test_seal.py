"""Sealing the two-seal certificate: B-T and B-LTA, DocMDP, signing time, errors."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm

from service.signing.errors import InvalidPdfError, SealingError, SigningError
from service.signing.seal import (
    SealField,
    add_seal_fields,
    async_seal_certificate,
    seal_certificate,
    seal_pdf,
)
from service.signing.validate import validate_pdf
from tests.signing.conftest import FIELDS, FROZEN, make_certificate_pdf


def test_both_seals_reach_b_lta(kit, sealed_lta):
    report = validate_pdf(sealed_lta, kit.trust, at=FROZEN)
    assert report.verdict == "valid", report.reasons
    assert report.pades_level == "B-LTA"
    assert [s.field_name for s in report.seals] == ["Committee", "Issuer"]
    committee, issuer = report.seals
    assert committee.kind == "certify" and issuer.kind == "approve"
    assert committee.organisation == "某某省工程技术系列高级职称评审委员会"
    assert issuer.organisation == "某某省人力资源和社会保障厅"
    for seal in report.seals:
        assert seal.intact and seal.trusted and seal.revocation_checked and not seal.revoked
        assert seal.timestamp is not None and seal.timestamp.valid and seal.timestamp.time == FROZEN
        assert seal.signing_time == FROZEN
        assert seal.docmdp == "FILL_FORMS" and seal.docmdp_respected
    # the certification seal saw the second seal (form filling) and the LTA update
    assert committee.modification_level == "FORM_FILLING"
    assert issuer.modification_level == "LTA_UPDATES"
    assert len(report.document_timestamps) == 1
    assert report.document_timestamps[0].trusted and report.document_timestamps[0].coverage == "entire_file"
    # original, fields, seal 1, seal 2, DSS + document timestamp
    assert report.revisions == 5
    assert not report.unpermitted_changes and not report.changes_after_last_signature


def test_fields_created_in_the_committee_seals_own_revision(kit):
    """The service's path: no separate revision for the empty fields, the same seals."""
    for level in ("B-T", "B-LTA"):
        doc = seal_certificate(
            make_certificate_pdf(), kit.committee(level), kit.issuer(level), level, new_fields=FIELDS
        )
        report = validate_pdf(doc, kit.trust, strict=level == "B-LTA", at=FROZEN)
        assert report.verdict == "valid", report.reasons
        assert [s.field_name for s in report.seals] == ["Committee", "Issuer"]
        committee, issuer = report.seals
        assert committee.kind == "certify" and committee.docmdp == "FILL_FORMS"
        assert committee.modification_level == "FORM_FILLING" and issuer.intact
        # original, seal 1 with both fields, seal 2 (, DSS + document timestamp)
        assert report.revisions == (3 if level == "B-T" else 4)
        reader = PdfFileReader(BytesIO(doc))
        first = reader.embedded_regular_signatures[0]
        assert first.signed_revision == 1  # the fields are inside what the committee signed
    with pytest.raises(SealingError):
        seal_certificate(
            make_certificate_pdf(),
            kit.committee(),
            kit.issuer(),
            "B-T",
            new_fields=[SealField("Committee", 3, (0, 0, 10, 10))],
        )


def test_lta_strict_mode_is_satisfied(kit, sealed_lta):
    report = validate_pdf(sealed_lta, kit.trust, strict=True, at=FROZEN)
    assert report.verdict == "valid", report.reasons


def test_lta_revision_holds_dss_for_both_seals(sealed_lta):
    reader = PdfFileReader(BytesIO(sealed_lta))
    dss = reader.root["/DSS"]
    assert len(dss["/CRLs"]) == 2  # root CA and seal CA
    assert len(dss["/Certs"]) >= 5  # root, seal CA, TSA, two seals
    ts = reader.embedded_timestamp_signatures
    assert len(ts) == 1 and ts[0].signed_revision == reader.xrefs.total_revisions - 1


def test_certification_seal_carries_docmdp_fill_forms(sealed_bt):
    reader = PdfFileReader(BytesIO(sealed_bt))
    committee = reader.embedded_regular_signatures[0]
    assert committee.docmdp_level == MDPPerm.FILL_FORMS
    assert reader.embedded_regular_signatures[1].docmdp_level is None


def test_b_t_path(kit, sealed_bt):
    report = validate_pdf(sealed_bt, kit.trust, at=FROZEN)
    assert report.verdict == "valid", report.reasons
    assert report.pades_level == "B-T"
    assert report.document_timestamps == ()
    strict = validate_pdf(sealed_bt, kit.trust, strict=True, at=FROZEN)
    assert strict.verdict == "invalid"
    assert {r.code for r in strict.reasons} == {"revocation_not_embedded"}


def test_single_seal_b_lta_via_seal_pdf(kit, blank_pdf):
    once = seal_pdf(blank_pdf, kit.committee("B-LTA"))
    report = validate_pdf(once, kit.trust, at=FROZEN)
    assert report.verdict == "valid" and report.pades_level == "B-LTA"
    # a second seal and a second archive timestamp are still allowed by DocMDP
    twice = seal_pdf(once, kit.issuer("B-LTA"))
    report = validate_pdf(twice, kit.trust, at=FROZEN)
    assert report.verdict == "valid", report.reasons
    assert [t.field_name for t in report.document_timestamps] == ["ArchiveTimestamp", "ArchiveTimestamp2"]


def test_explicit_reservation_gives_a_stable_size(kit, blank_pdf):
    a = seal_certificate(blank_pdf, kit.committee(), kit.issuer(), "B-T")
    b = seal_certificate(blank_pdf, kit.committee(), kit.issuer(), "B-T")
    assert len(a) == len(b)  # explicit reservation: no size estimation dry run


def test_async_variant_in_a_running_loop(kit, blank_pdf):
    async def batch():
        return [await async_seal_certificate(blank_pdf, kit.committee(), kit.issuer(), "B-T") for _ in range(2)]

    docs = asyncio.run(batch())
    assert all(validate_pdf(d, kit.trust, at=FROZEN).valid for d in docs)


def test_sync_api_refuses_to_nest_in_a_loop(kit, blank_pdf):
    async def nested():
        seal_pdf(blank_pdf, kit.committee())

    with pytest.raises(SigningError):
        asyncio.run(nested())


def test_fields_must_exist_before_sealing(kit):
    bare = make_certificate_pdf()
    with pytest.raises(SealingError):
        seal_pdf(bare, kit.committee())


def test_field_on_missing_page_is_refused():
    with pytest.raises(SealingError):
        add_seal_fields(make_certificate_pdf(), [SealField("X", 3, (0, 0, 10, 10))])


def test_roles_are_checked(kit, blank_pdf):
    with pytest.raises(SealingError):
        seal_certificate(blank_pdf, kit.issuer(), kit.committee(), "B-T")
    with pytest.raises(SealingError):
        seal_certificate(blank_pdf, kit.committee(), kit.issuer(), "B-LT")


def test_b_lta_needs_a_validation_context(kit, blank_pdf):
    req = kit.committee()
    with pytest.raises(SealingError):
        seal_pdf(blank_pdf, replace(req, level="B-LTA"))


def test_non_pdf_input_is_refused(kit):
    with pytest.raises(InvalidPdfError):
        seal_pdf(b"hello, not a pdf", kit.committee())
    with pytest.raises(InvalidPdfError):
        add_seal_fields(b"%PDF-1.7\n garbage", FIELDS)


def test_unreachable_tsa_is_a_timestamp_error(kit, blank_pdf):
    from service.sealing.timestamping import build_http_timestamper
    from service.signing.errors import TimestampError

    # port 9 (discard) on loopback: refused at once, nothing leaves the machine
    dead = build_http_timestamper("http://127.0.0.1:9/tsa", timeout=2)
    with pytest.raises(TimestampError):
        seal_pdf(blank_pdf, replace(kit.committee(), timestamper=dead, signing_time=FROZEN))
