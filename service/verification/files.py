"""The I/O side of 证书查验: validating stored and uploaded files, reading the registry."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from service.certificates.document import stored_request, verification_url
from service.certificates.offline_payload import printed_payload
from service.contract.certificate import CertificateRequest
from service.contract.parse import validate_payload
from service.documents.raster import attachment_data, first_page_text
from service.forms.certificate import render_public_copy, wording_of
from service.registry import certificate_queries as queries
from service.registry import certificates as repo
from service.registry.db import transaction
from service.registry.models import Certificate
from service.verification.drawn import charge_first_page
from service.verification.facts import judge_upload, mask_id, needs_seal_check, public_facts, seal_summary
from service.verification.inflation import check_inflation
from service.verification.ofd_upload import check_uploaded_ofd, is_ofd
from service.workers.tasks import worker_task

if TYPE_CHECKING:  # the composition root imports this flow: the type only
    from sqlalchemy.orm import Session

    from service.services import Services

log = logging.getLogger(__name__)
_IDENTIFIER = re.compile(r"1\.2\.156\.3005\.2\.[0-9A-Za-z.]+")


def ensure_seal_summary(services: Services, cert: Certificate) -> Certificate:
    """Validate the stored file's seals on first view (and daily after), keeping the result."""
    now = datetime.now(UTC)
    if not needs_seal_check(cert, now) or services.sealers is None:
        return cert
    report = services.sealers.validate(services.files.get(cert.pdf_sha256))
    with transaction(services.sessions) as session:
        row = _stored(session, cert.id)
        row.seal_summary = seal_summary(report)
        row.seal_checked_at = now
        session.flush()
        session.expunge(row)
        return row


UNTRUSTED = ("altered", "unknown_key")
CLAIMED = "文件不可信：以下为文件所声称的证书在本服务的登记信息"


@dataclass(frozen=True)
class UploadAnswer:
    """What an upload is, as plain data (it is made in a worker process): the verdict, the
    public facts of the certificate the file names (if any), the file's own seals."""

    verdict: str
    message: str
    certificate: dict | None
    seals: dict | None  # seal_summary of the uploaded file

    def json(self) -> dict:
        certificate = self.certificate
        if certificate is not None and self.verdict in UNTRUSTED:
            # The file is not what was issued: the registry's facts are only what it claims.
            certificate = {**certificate, "genuine": False, "status": self.verdict, "status_text": CLAIMED}
        body: dict[str, Any] = {
            "verdict": self.verdict,
            "message": self.message,
            "certificate": certificate,
            "seals": None,
        }
        if self.seals is not None:
            body["seals"] = [{k: s[k] for k in ("role", "signer", "time", "valid")} for s in self.seals["seals"]]
            body["document_valid"] = self.seals["valid"]
        return body

    def page_facts(self) -> dict | None:
        """The facts the upload page shows: with the seals *of the uploaded file* (never the
        registry copy's, which would call an altered file's seals valid), and no registry
        status for a file that is not what was issued."""
        if self.certificate is None:
            return None
        facts = {**self.certificate, "seals": self.seals}
        if self.verdict in UNTRUSTED:
            facts["status"], facts["status_text"], facts["genuine"] = self.verdict, CLAIMED, False
        return facts


def check_uploaded_pdf(services: Services, pdf: bytes) -> UploadAnswer:
    """What an uploaded file is: genuine and current, revoked, superseded, altered, foreign..."""
    limits = services.settings.limits
    meter = check_inflation(pdf, limits.max_inflated_stream_bytes, limits.max_inflated_total_bytes)
    page_readable = charge_first_page(pdf, meter, limits.max_drawn_page_bytes)
    report = services.sealers.validate(pdf)
    digest = hashlib.sha256(pdf).hexdigest()
    named = identifier_in(pdf, read_page=page_readable)
    with services.sessions() as session:
        by_hash = queries.by_file(session, digest)
        by_number = queries.by_identifier(session, named) if named else None
        verdict = judge_upload(report, by_hash, by_number)
        facts = None
        if verdict.certificate is not None:
            facts = public_facts(verdict.certificate, repo.current_version(session, verdict.certificate.number))
    log.info("upload checked: %s%s", verdict.code, f" ({verdict.certificate.number})" if verdict.certificate else "")
    return UploadAnswer(verdict.code, verdict.message, facts, seal_summary(report))


def identifier_in(pdf: bytes, read_page: bool = True) -> str | None:
    """The certificate identifier a file names: from its attached certificate data, else
    from its printed text, so that an altered copy still says which certificate it claims
    to be (``read_page``: page 1 was measured and may be read)."""
    data = attachment_data(pdf, "certificate.json")
    if data is not None:
        try:
            identifier = json.loads(data).get("identifier")
        except (ValueError, AttributeError):
            identifier = None
        if isinstance(identifier, str) and _IDENTIFIER.fullmatch(identifier):
            return identifier
    text = first_page_text(pdf) if read_page else None
    match = _IDENTIFIER.search("".join(text.split())) if text else None
    return match.group(0).rstrip(".") if match else None


def check_uploaded_file(services: Services, data: bytes) -> UploadAnswer:
    """A PDF or an OFD package, told apart by their bytes (never by a file name)."""
    if not is_ofd(data):
        return check_uploaded_pdf(services, data)
    checked = check_uploaded_ofd(services, data)
    return UploadAnswer(checked.verdict.code, checked.verdict.message, checked.facts, checked.seals)


@worker_task("upload_check")
def check_upload_in_worker(services: Services, data: bytes) -> UploadAnswer:
    """The upload check, in a checker process (service.app.upload_pool)."""
    return check_uploaded_file(services, data)


@worker_task("warm_checking")
def warm_checking(services: Services) -> int:
    """An upload checker's start: the trust its seal checks need, loaded now."""
    services.sealers.current()
    return 0


@worker_task("public_copy")
def public_copy_of(services: Services, certificate_id: int) -> bytes:
    with services.sessions() as session:
        cert = _stored(session, certificate_id)
        session.expunge(cert)
    return public_copy(services, cert)


@worker_task("seal_check")
def check_stored_seals(services: Services, certificate_id: int) -> None:
    """A certificate's own file validated for its verification page (first view, then daily)."""
    with services.sessions() as session:
        cert = _stored(session, certificate_id)
        session.expunge(cert)
    ensure_seal_summary(services, cert)


def _stored(session: Session, certificate_id: int) -> Certificate:
    """A certificate the caller has just read (certificates are never deleted)."""
    cert = session.get(Certificate, certificate_id)
    if cert is None:
        raise LookupError(f"certificate {certificate_id} is not in the registry")
    return cert


def public_copy(services: Services, cert: Certificate) -> bytes:
    """The public view of a certificate file (ID number masked, no photo), made on first
    request and kept in the file store."""
    if cert.public_pdf_sha256 and services.files.exists(cert.public_pdf_sha256):
        return services.files.get(cert.public_pdf_sha256)
    request = validate_payload(CertificateRequest, stored_request(services, cert), services.settings.limits)
    masked = request.model_copy(
        update={"holder": request.holder.model_copy(update={"id_number": mask_id(request.holder.id_number)})}
    )
    pdf = render_public_copy(
        services.renderer,
        masked,
        number=cert.number,
        identifier=cert.identifier,
        verify_url=verification_url(services.settings, cert.token),
        province_title=services.settings.certificate_title,
        wording=wording_of(services.profile.certificate, services.profile.terms()),
        offline_payload=printed_payload(cert),
    )
    digest = services.files.put(pdf)
    with transaction(services.sessions) as session:
        _stored(session, cert.id).public_pdf_sha256 = digest
    return pdf
