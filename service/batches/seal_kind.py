"""``seal``: the ``pending_seal`` certificates of a committee, an issuer, a year or a list
of numbers, sealed once their organisations have keys (``pending_seal`` → ``valid``)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from service.batches.items import ItemFailed, actor_of, finish_item
from service.batches.kinds import BatchKind
from service.certificates.document import render_sealable, stored_request, verification_url
from service.certificates.ofd_twin import make_ofd_twin
from service.certificates.offline_payload import OfflinePayload, make_offline_payload
from service.contract.certificate import CertificateRequest
from service.contract.parse import validate_payload
from service.documents.certificate_layout import SEAL_AREAS
from service.offline.payload import SALT_BYTES
from service.registry import certificate_changes as changes
from service.registry import certificate_queries as queries
from service.registry import certificates as repo
from service.registry.db import transaction
from service.registry.published_keys import record_key

if TYPE_CHECKING:
    from service.registry.models import BatchItem, BatchJob, Certificate
    from service.services import Services

MAX_ITEMS = 100_000
STATUS_CN = {"revoked": "已撤销", "superseded": "已换发"}


class SealJob(BaseModel):
    """Seal the ``pending_seal`` certificates chosen by their numbers or by a filter."""

    kind: Literal["seal"]
    numbers: Annotated[list[Annotated[str, Field(min_length=1, max_length=40)]] | None, Field(max_length=MAX_ITEMS)] = (
        None
    )
    committee: Annotated[str | None, Field(max_length=64)] = None
    issuer: Annotated[str | None, Field(max_length=64)] = None
    year: Annotated[int | None, Field(ge=1990, le=2100)] = None

    @model_validator(mode="after")
    def _numbers_or_filter(self) -> SealJob:
        if self.numbers is not None and any(v is not None for v in (self.committee, self.issuer, self.year)):
            raise ValueError("numbers 与 committee/issuer/year 筛选条件只能二选一")
        return self


def select_items(session: Session, request: SealJob, now: datetime):
    numbers = request.numbers
    if numbers is None:
        numbers = queries.pending_seal_numbers(session, request.committee, request.issuer, request.year)
    for number in dict.fromkeys(numbers):  # each certificate once, in the order asked
        yield number, None


def seal_item(services: Services, job: BatchJob, item: BatchItem, owner: str) -> None:
    with services.sessions() as session:
        cert = repo.current_version(session, item.target)
    if cert is None:
        raise ItemFailed(f"没有编号为 {item.target} 的证书")
    if cert.status in STATUS_CN:
        raise ItemFailed(f"证书 {cert.number} {STATUS_CN[cert.status]}，未加盖印章")
    if cert.status == "valid":
        with transaction(services.sessions) as session:
            finish_item(
                session,
                item,
                owner,
                services.clock(),
                outcome="already_sealed",
                number=cert.number,
                version=cert.version,
                pdf_sha256=cert.pdf_sha256,
            )
        return
    for code, label in ((cert.committee_code, "评委会"), (cert.issuer_code, "发证机关")):
        if not services.sealers.has_key(code):  # asks the registry when not loaded here
            raise ItemFailed(f"{label}（代码 {code}）尚无可用的电子印章，请先为其配置密钥")
    unsealed, offline = _sealable(services, cert)
    sealed = services.sealers.seal(unsealed, cert.committee_code, cert.issuer_code, SEAL_AREAS)
    digest = services.files.put(sealed.pdf)  # written (atomically) before any row names it
    ofd = _ofd_twin(services, cert, offline.text if offline else cert.offline_payload)
    ofd_digest = services.files.put(ofd) if ofd else None
    now = services.clock()
    with transaction(services.sessions) as session:
        changed = changes.mark_sealed(
            session,
            cert.id,
            pdf_sha256=digest,
            pdf_size=len(sealed.pdf),
            seal_level=sealed.level,
            sealed_at=now,
            archive_until=sealed.archive_until,
            offline_payload=offline.text if offline else cert.offline_payload,
            offline_kid=offline.key.kid if offline else cert.offline_kid,
            ofd_sha256=ofd_digest,
            ofd_size=len(ofd) if ofd else None,
        )
        if changed and offline is not None:
            record_key(session, offline.key, now)
        if changed:
            repo.add_event(
                session,
                cert,
                "sealed",
                actor_of(job),
                now,
                details={
                    "job": job.id,
                    "pdf_sha256": digest,
                    "replaces": cert.pdf_sha256,
                    "level": sealed.level,
                    "ofd_sha256": ofd_digest,
                },
            )
        finish_item(
            session,
            item,
            owner,
            now,
            outcome="sealed" if changed else "already_sealed",
            number=cert.number,
            version=cert.version,
            pdf_sha256=digest if changed else None,
        )


def _sealable(services: Services, cert: Certificate) -> tuple[bytes, OfflinePayload | None]:
    """The certificate as it is sealed, and the offline payload signed for it now (None: the
    one recorded at issuance, or none).

    The copy kept at issuance is sealed as it is when its code is final: with the payload
    its issuer's key signed then (the usual case: a committee without an e-seal yet). An
    issuer that had no key then signs one now, and the certificate is laid out again with
    it (same number, identifier and URL; the code gains the payload after "#")."""
    kept = cert.sealable_pdf_sha256 is not None and services.files.exists(cert.sealable_pdf_sha256)
    if kept and cert.offline_payload:
        return services.files.get(cert.sealable_pdf_sha256), None  # type: ignore[arg-type]  # kept: not None
    request = validate_payload(CertificateRequest, stored_request(services, cert), services.settings.limits)
    url = verification_url(services.settings, cert.token)
    offline = make_offline_payload(
        services, request, number=cert.number, version=cert.version, salt=sealing_salt(cert.token), verify_url=url
    )
    if offline is None and kept:
        return services.files.get(cert.sealable_pdf_sha256), None  # type: ignore[arg-type]  # kept: not None
    pdf = render_sealable(
        services,
        request,
        number=cert.number,
        token=cert.token,
        identifier=cert.identifier,
        offline_payload=offline.text if offline else None,
    )
    return pdf, offline


def sealing_salt(token: str) -> bytes:
    """The ID-hash salt of a version sealed by a batch: derived from its token, so that an
    item run again after a crash lays out the same bytes (a salt need only differ between
    certificates; it is printed in the payload anyway)."""
    return hashlib.sha256(b"zc-offline-salt:" + token.encode()).digest()[:SALT_BYTES]


def _ofd_twin(services: Services, cert: Certificate, offline_payload: str | None) -> bytes | None:
    """The OFD twin of the page just sealed: its QR code as the sealed PDF's (the URL and
    the offline payload it carries)."""
    if not services.profile.certificate.issues_ofd:
        return None
    request = validate_payload(CertificateRequest, stored_request(services, cert), services.settings.limits)
    return make_ofd_twin(
        services,
        request,
        number=cert.number,
        identifier=cert.identifier,
        verify_url=verification_url(services.settings, cert.token),
        offline_payload=offline_payload,
    )


def _params(request: SealJob) -> dict:
    """The job row keeps the filter, or how many numbers were asked (100,000 numbers would
    otherwise travel in every status answer and progress event): the items hold them."""
    params = request.model_dump(mode="json", exclude_none=True, exclude={"numbers"})
    if request.numbers is not None:
        params["numbers"] = len(request.numbers)
    return params


KIND = BatchKind(
    name="seal",
    title="加盖印章",
    request=SealJob,
    select_items=select_items,
    run_item=seal_item,
    outcomes={"sealed": "已加盖", "already_sealed": "此前已加盖"},
    params=_params,
)
