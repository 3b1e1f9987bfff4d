"""Validate the seals of a PDF: pure, PDF bytes + trust in, :class:`ValidationReport` out.

Model (point in time, the same simplification Adobe Reader makes):
* a seal's timestamp token is judged at the validation time;
* when it is valid, the seal's certificate chain is judged *at the timestamp's time*
  (so a certificate that expires or is revoked later does not void an earlier seal);
  otherwise at the validation time;
* revocation data: the CRLs in ``TrustConfig`` plus those in the document's DSS.
Long-term (archival) validation across expired TSA certificates, ETSI EN 319 102-1
"past signature validation", is not attempted here (pyHanko's ``ades_lta_validation``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature, read_certification_data
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel

from .errors import InvalidPdfError
from .pdf_inspect import (
    READ_ERRORS,
    cert_info,
    claimed_tst_time,
    name_part,
    open_pdf,
    read_dss,
    read_signatures,
    signature_kind,
)
from .report import DocumentTimestampReport, Reason, SealReport, TimestampInfo, ValidationReport
from .seal import run_sync
from .trust import TrustConfig, build_validation_context

log = logging.getLogger(__name__)


def validate_pdf(
    pdf_bytes: bytes, trust: TrustConfig, strict: bool = False, at: datetime | None = None
) -> ValidationReport:
    """Validate every seal and document timestamp. ``strict`` demands revocation data (B-LT+)."""
    return run_sync(async_validate_pdf(pdf_bytes, trust, strict=strict, at=at))


async def async_validate_pdf(
    pdf_bytes: bytes, trust: TrustConfig, strict: bool = False, at: datetime | None = None
) -> ValidationReport:
    at = at or datetime.now(UTC)
    reader = open_pdf(pdf_bytes)
    try:
        return await _validate(reader, trust, strict, at)
    except READ_ERRORS as exc:
        # Damage that only shows when a signature's objects are read (the same kinds that
        # opening can meet: an upload must get an answer, never a crash).
        raise InvalidPdfError(f"not a readable PDF: {exc}") from exc


async def _validate(reader, trust: TrustConfig, strict: bool, at: datetime) -> ValidationReport:
    dss = read_dss(reader)
    embedded, unreadable = read_signatures(reader)
    certification = read_certification_data(reader)
    archives = []
    for emb in embedded:
        if emb.sig_object_type == "/DocTimeStamp":
            archives.append((emb, await _check_doc_timestamp(emb, trust, dss, at, strict)))
    seals = []
    for emb in embedded:
        if emb.sig_object_type == "/Sig":
            seals.append(await _check_seal(emb, reader, trust, dss, certification, archives, at, strict))
    seals.extend(_unreadable_seal(name) for name in unreadable)
    return _summarise(reader, embedded, seals, [r for _, r in archives], at, strict)


def _unreadable_seal(name: str) -> SealReport:
    return SealReport(
        field_name=name,
        kind="unknown",
        organisation=None,
        certificate=None,
        intact=False,
        signature_valid=False,
        trusted=False,
        revocation_checked=False,
        revoked=False,
        revocation_date=None,
        expired=False,
        timestamp=None,
        signing_time=None,
        validated_at=None,
        modification_level=None,
        docmdp=None,
        docmdp_respected=False,
        coverage=None,
        pades_level=None,
        reasons=(Reason.of("unreadable_signature", name),),
    )


def _summarise(reader, embedded, seals, doc_ts, at, strict) -> ValidationReport:
    reasons: list[Reason] = []
    if not seals:
        reasons.append(Reason.of("no_signatures"))
    for seal in seals:
        reasons.extend(seal.reasons)
    for ts in doc_ts:
        if not (ts.intact and ts.trusted):
            reasons.append(Reason.of("doc_timestamp_invalid", ts.field_name))
    last = embedded[-1] if embedded else None
    changes_after = last is not None and last.coverage != SignatureCoverageLevel.ENTIRE_FILE
    unpermitted = any(not s.docmdp_respected for s in seals if s.certificate) or any(
        t.modification_level == ModificationLevel.OTHER.name for t in doc_ts
    )
    if unpermitted and not any(r.code == "altered" for r in reasons):
        reasons.append(Reason.of("altered"))
    return ValidationReport(
        verdict="invalid" if reasons else "valid",
        reasons=tuple(reasons),
        seals=tuple(seals),
        document_timestamps=tuple(doc_ts),
        revisions=reader.xrefs.total_revisions,
        changes_after_last_signature=changes_after,
        unpermitted_changes=unpermitted,
        validation_time=at,
        strict=strict,
    )


async def _check_seal(emb: EmbeddedPdfSignature, reader, trust, dss, certification, archives, at, strict) -> SealReport:
    revocation_mode = "require" if strict else "soft-fail"
    tst_time = claimed_tst_time(emb)
    moment = tst_time or at
    status = await _validate_at(emb, trust, dss, moment, at, revocation_mode)
    ts = status.timestamp_validity
    ts_ok = ts is not None and ts.intact and ts.valid and ts.trusted
    if tst_time is not None and not ts_ok:
        # the timestamp cannot vouch for the signing time: judge the chain at `at`
        moment = at
        status = await _validate_at(emb, trust, dss, at, at, revocation_mode)
    cert = status.signing_cert
    own = emb.docmdp_level
    in_force = _strictest(own, certification.permission if certification else None)
    mod_level = status.modification_level
    docmdp_ok = bool(status.docmdp_ok) and (in_force is None or mod_level is None or mod_level.value <= in_force.value)
    validity = cert["tbs_certificate"]["validity"]
    expired = not (validity["not_before"].native <= moment <= validity["not_after"].native)
    all_crls = trust.crl_objects() + dss.crls
    revocation_checked = status.trusted and (strict or _revinfo_covers(status.validation_path, all_crls, dss.ocsps))
    # B-LT: the document itself carries what is needed for the seal's and its TSA's chains
    lt_ok = (
        dss.present
        and _revinfo_covers(status.validation_path, dss.crls, dss.ocsps)
        and ts is not None
        and _revinfo_covers(ts.validation_path, dss.crls, dss.ocsps)
    )

    reasons = []
    field = emb.field_name
    if (
        not (status.intact and status.valid)
        or not docmdp_ok
        or status.coverage < SignatureCoverageLevel.ENTIRE_REVISION
    ):
        reasons.append(Reason.of("altered", field))
    elif status.revoked:
        reasons.append(Reason.of("revoked", field))
    elif expired:
        reasons.append(Reason.of("expired", field))
    elif not status.trusted:
        # in strict mode a chain that was found but not accepted lacks revocation data
        code = "revocation_unknown" if strict and status.validation_path is not None else "untrusted"
        reasons.append(Reason.of(code, field))
    if ts is not None and not ts_ok and not reasons:
        reasons.append(Reason.of("timestamp_invalid", field))
    level = None if reasons else _pades_level(emb, ts_ok, lt_ok, reader, archives)
    if strict and not reasons and level in ("B-B", "B-T"):
        reasons.append(Reason.of("revocation_not_embedded", field))
        level = None
    return SealReport(
        field_name=field,
        kind=signature_kind(emb),
        organisation=name_part(cert, "organization_name") or name_part(cert, "common_name"),
        certificate=cert_info(cert),
        intact=bool(status.intact),
        signature_valid=bool(status.valid),
        trusted=bool(status.trusted),
        revocation_checked=bool(revocation_checked),
        revoked=status.revoked,
        revocation_date=status.revocation_details.revocation_date if status.revocation_details else None,
        expired=expired,
        timestamp=TimestampInfo(ts.timestamp, ts_ok, name_part(ts.signing_cert, "common_name")) if ts else None,
        signing_time=status.signer_reported_dt,
        validated_at=moment,
        modification_level=mod_level.name if mod_level is not None else None,
        docmdp=in_force.name if in_force is not None else None,
        docmdp_respected=docmdp_ok,
        coverage=status.coverage.name.lower() if status.coverage is not None else None,
        pades_level=level,
        reasons=tuple(reasons),
    )


async def _validate_at(emb, trust, dss, moment, at, revocation_mode) -> PdfSignatureStatus:
    extra = dict(extra_crls=dss.crls, extra_ocsps=dss.ocsps, extra_certs=dss.certs)
    # CRLs issued after the signing time still speak for it (the dev and production CAs
    # use no certificate holds), hence retroactive_revinfo for the signer's chain.
    signer_vc = build_validation_context(
        trust, moment=moment, revocation_mode=revocation_mode, retroactive_revinfo=True, **extra
    )
    ts_vc = build_validation_context(trust, moment=at, revocation_mode=revocation_mode, **extra)
    try:
        return await async_validate_pdf_signature(emb, signer_vc, ts_validation_context=ts_vc)
    except SignatureValidationError as exc:
        raise InvalidPdfError(f"seal {emb.field_name!r} cannot be validated: {exc}") from exc


async def _check_doc_timestamp(emb, trust, dss, at, strict) -> DocumentTimestampReport:
    vc = build_validation_context(
        trust,
        moment=at,
        revocation_mode="require" if strict else "soft-fail",
        extra_crls=dss.crls,
        extra_ocsps=dss.ocsps,
        extra_certs=dss.certs,
    )
    status = await async_validate_pdf_timestamp(emb, vc)
    mod = status.modification_level
    return DocumentTimestampReport(
        field_name=emb.field_name,
        time=status.timestamp,
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        coverage=status.coverage.name.lower() if status.coverage is not None else None,
        modification_level=mod.name if mod is not None else None,
    )


def _revinfo_covers(path, crls, ocsps) -> bool:
    """Every certificate below the trust anchor has a CRL from its issuer or an OCSP answer."""
    if path is None:
        return False
    ocsp_serials = set()
    for resp in ocsps:
        try:
            for single in resp["response_bytes"]["response"].parsed["tbs_response_data"]["responses"]:
                ocsp_serials.add(single["cert_id"]["serial_number"].native)
        except (KeyError, ValueError, TypeError):
            continue
    issuers = {c["tbs_cert_list"]["issuer"].dump() for c in crls}
    for cert in path.iter_certs(include_root=False):
        if cert.issuer.dump() not in issuers and cert.serial_number not in ocsp_serials:
            return False
    return True


def _pades_level(emb, ts_ok: bool, lt_ok: bool, reader: PdfFileReader, archives) -> str | None:
    if emb.sig_object.get("/SubFilter") != "/ETSI.CAdES.detached":
        return None  # a valid seal, but not a PAdES one
    if not ts_ok:
        return "B-B"
    if not lt_ok:
        return "B-T"
    for ts_emb, ts_report in archives:
        if (
            ts_report.intact
            and ts_report.trusted
            and ts_emb.signed_revision > emb.signed_revision
            and "/DSS" in reader.get_historical_resolver(ts_emb.signed_revision).root
        ):
            return "B-LTA"
    return "B-LT"


def _strictest(a: MDPPerm | None, b: MDPPerm | None) -> MDPPerm | None:
    present = [p for p in (a, b) if p is not None]
    return min(present, key=lambda p: p.value) if present else None
