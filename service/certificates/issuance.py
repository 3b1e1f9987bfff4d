"""Issue, reissue (补换证) and revoke certificates.

The steps of an issuance: validate (done at the boundary), assign the
number, process the photo, make the QR code, render, seal with the 评委会's
and the 发证机关's keys, store the file, record, return. Rendering and
sealing happen outside any database transaction; the record is written in
one transaction at the end, so a failure leaves no half-written record (at
most an unused number, which is never handed out again).
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.config import Settings
from service.contract.certificate import CertificateRequest
from service.contract.common import Photo
from service.contract.parse import validate_payload
from service.documents.certificate import SEAL_AREAS, render_certificate
from service.errors import Conflict, FieldError, InvalidInput, NotFound
from service.services import Services
from service.certificates.identifiers import format_number, make_identifier, province_of
from service.registry import certificates as repo
from service.registry.db import transaction
from service.registry.models import Certificate
from service.registry.orgs import get_org


@dataclass(frozen=True)
class Actor:
    """Who asks: recorded in the audit log."""

    role: str
    key_id: str

    def __str__(self) -> str:
        return f"{self.role}:{self.key_id}"


@dataclass(frozen=True)
class Issued:
    certificate: Certificate
    replay: bool  # an earlier identical request made it


def issue_certificate(services: Services, request: CertificateRequest, *, actor: Actor,
                      idempotency_key: str | None = None) -> Issued:
    with services.sessions() as session:
        existing = repo.find_replay(session, idempotency_key, request.declaration_id)
        if existing is not None:
            return Issued(existing, replay=True)
        _check_organisations(session, request)
    number = _allocate_number(services, request)
    try:
        row = _make_version(services, request, number=number, version=1, idempotency_key=idempotency_key)
        with transaction(services.sessions) as session:
            session.add(row)
            session.flush()
            repo.add_event(session, row, "issued", str(actor), row.created_at,
                           details={"status": row.status, "pdf_sha256": row.pdf_sha256})
        return Issued(row, replay=False)
    except IntegrityError:
        # The same request, running at the same moment, recorded first: answer with its certificate.
        with services.sessions() as session:
            existing = repo.find_replay(session, idempotency_key, request.declaration_id)
        if existing is None:
            raise
        return Issued(existing, replay=True)


def reissue_certificate(services: Services, number: str, corrections: dict, reason: str, *, actor: Actor) -> Certificate:
    """A new version (补换证) with the corrected fields; the current one becomes superseded."""
    with services.sessions() as session:
        current = _current_or_404(session, number)
        if current.status in ("revoked", "superseded"):
            raise Conflict(f"证书 {number} 已{_STATUS_CN[current.status]}，不能换发")
    base = stored_request(services, current)
    request = validate_payload(CertificateRequest, _merge(base, corrections), services.settings.limits,
                               path_prefix="corrections")
    if request.committee.code != current.committee_code or request.issuer.code != current.issuer_code:
        message = "换发证书不能更改评委会或发证机关"
        raise InvalidInput(message, errors=[FieldError("corrections", message, "immutable")])
    row = _make_version(services, request, number=number, version=current.version + 1, idempotency_key=None)
    try:
        with transaction(services.sessions) as session:
            old = repo.get_version(session, number, current.version)
            if old.status in ("revoked", "superseded"):
                raise Conflict(f"证书 {number} 已{_STATUS_CN[old.status]}，不能换发")
            session.add(row)
            session.flush()
            old.status = "superseded"
            old.superseded_by_id = row.id
            repo.add_event(session, old, "superseded", str(actor), row.created_at, reason,
                           {"superseded_by_version": row.version})
            repo.add_event(session, row, "reissued", str(actor), row.created_at, reason,
                           {"replaces_version": old.version, "corrected": sorted(_paths(corrections))})
    except IntegrityError:
        raise Conflict(f"证书 {number} 正在被另一请求换发，请刷新后重试") from None
    return row


def revoke_certificate(services: Services, number: str, reason: str, *, actor: Actor) -> Certificate:
    with transaction(services.sessions) as session:
        current = _current_or_404(session, number)
        if current.status == "revoked":
            raise Conflict(f"证书 {number} 已于 {current.revoked_at:%Y-%m-%d} 撤销")
        now = services.clock()
        current.status = "revoked"
        current.revoked_at = now
        current.revoked_reason = reason
        repo.add_event(session, current, "revoked", str(actor), now, reason)
        return current


# --- steps ----------------------------------------------------------------------

_STATUS_CN = {"revoked": "撤销", "superseded": "换发", "valid": "有效", "pending_seal": "待签章"}


def _check_organisations(session: Session, request: CertificateRequest) -> None:
    errors = []
    for path, party, role, label in (("committee", request.committee, "committee", "评委会"),
                                     ("issuer", request.issuer, "issuer", "发证机关")):
        org = get_org(session, party.code)
        if org is None or not org.active or org.role != role:
            errors.append(FieldError(f"{path}.code", f"{label}（代码 {party.code}）未在本服务登记，请联系管理员添加", "unknown_org"))
        elif org.name != party.name:
            errors.append(FieldError(f"{path}.name", f"{label}名称与登记不一致：登记为「{org.name}」", "org_name"))
    if errors:
        raise InvalidInput(f"提交的数据有 {len(errors)} 处错误，请按提示修改", errors=errors)


def _allocate_number(services: Services, request: CertificateRequest) -> str:
    # Its own short transaction: numbering does not wait for rendering and sealing.
    with transaction(services.sessions) as session:
        seq = repo.next_sequence(session, request.committee.code, request.issue_date.year)
    return format_number(services.settings.number_pattern, province=province_of(request.committee.code),
                         year=request.issue_date.year, committee=request.committee.code, seq=seq)


def _make_version(services: Services, request: CertificateRequest, *, number: str, version: int,
                  idempotency_key: str | None) -> Certificate:
    """Render, seal and store one version; returns its (unsaved) row."""
    token = secrets.token_urlsafe(16)
    identifier = make_identifier(type_code=services.settings.identifier_type_code, issuer_uscc=request.issuer.code,
                                 serial=number, version=version)
    sealable = services.sealers.has_key(request.committee.code) and services.sealers.has_key(request.issuer.code)
    pdf = render_certificate(services.renderer, request, number=number, identifier=identifier,
                             verify_url=verification_url(services.settings, token),
                             province_title=services.settings.certificate_title,
                             unsealed_notice=None if sealable else services.settings.unsealed_notice)
    status, level, sealed_at = "pending_seal", None, None
    if sealable:
        pdf = services.sealers.seal(pdf, request.committee.code, request.issuer.code, SEAL_AREAS)
        status, level, sealed_at = "valid", services.sealers.level, services.clock()
    photo = request.holder.photo.content
    return Certificate(
        number=number, version=version, identifier=identifier, status=status, token=token,
        declaration_id=request.declaration_id, idempotency_key=idempotency_key,
        holder_name=request.holder.name, holder_id_number=request.holder.id_number,
        committee_code=request.committee.code, issuer_code=request.issuer.code, issue_date=request.issue_date,
        request=_request_without_photo(request), photo_sha256=services.files.put(photo) if photo else None,
        pdf_sha256=services.files.put(pdf), pdf_size=len(pdf), seal_level=level, sealed_at=sealed_at,
        created_at=services.clock(),
    )


def verification_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/v/{token}"


def _request_without_photo(request: CertificateRequest) -> dict:
    data = request.model_dump(mode="json")
    if data["holder"].get("photo"):
        data["holder"]["photo"] = {"media_type": data["holder"]["photo"]["media_type"], "data_base64": None}
    return data


def stored_request(services: Services, cert: Certificate) -> dict:
    """The request a version was issued from, its photo back from the file store (checked,
    not re-encoded): the base of a reissue, the data of a public copy."""
    data = copy.deepcopy(cert.request)
    photo = data["holder"].get("photo")
    if photo is not None and cert.photo_sha256:
        data["holder"]["photo"] = Photo.from_file(services.files.get(cert.photo_sha256), photo["media_type"],
                                                  services.settings.limits)
    return data


def _merge(base: dict, corrections: dict) -> dict:
    merged = dict(base)
    for key, value in corrections.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def _paths(corrections: dict, prefix: str = "") -> list[str]:
    paths = []
    for key, value in corrections.items():
        path = f"{prefix}{key}"
        paths += _paths(value, path + ".") if isinstance(value, dict) and key != "photo" else [path]
    return paths


def _current_or_404(session: Session, number: str) -> Certificate:
    current = repo.current_version(session, number)
    if current is None:
        raise NotFound(f"没有编号为 {number} 的证书")
    return current
