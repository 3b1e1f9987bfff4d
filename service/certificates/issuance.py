"""Issue, reissue (补换证) and revoke certificates.

The steps of an issuance: validate (done at the boundary), assign the
number, process the photo, make the QR code, render, seal with the 评委会's
and the 发证机关's keys, store the file, record, return. Rendering and
sealing happen outside any database transaction; the record is written in
one transaction at the end, so a failure leaves no half-written record (at
most an unused number, which is never handed out again).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.certificates.document import (
    MadeDocument,
    make_document,
    request_without_photo,
    stored_request,
)
from service.certificates.identifiers import format_number, make_identifier, province_of
from service.certificates.replays import claim, earlier_answer, release, request_digest, scoped, wait_for_other
from service.contract.certificate import CertificateRequest
from service.contract.parse import validate_payload
from service.errors import Conflict, FieldError, InvalidInput, NotFound
from service.offline.lists import KeyEntry
from service.offline.payload import SALT_BYTES
from service.registry import certificates as repo
from service.registry.db import transaction
from service.registry.models import Certificate
from service.registry.orgs import get_org
from service.registry.published_keys import record_key

if TYPE_CHECKING:  # the composition root imports this flow: the type only
    from service.services import Services


log = logging.getLogger(__name__)


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


Make = Callable[..., MadeDocument]


def issue_certificate(
    services: Services,
    request: CertificateRequest,
    *,
    actor: Actor,
    idempotency_key: str | None = None,
    make: Make | None = None,
) -> Issued:
    """Issue version 1, or answer with what an identical earlier request got.

    ``make`` renders and seals (``make_document`` in this process by default; the API
    passes one that runs it in a worker process)."""
    make = make or partial(make_document, services)
    digest = request_digest(request)
    while True:
        existing = earlier_answer(services, request, actor.key_id, idempotency_key, digest)
        if existing is not None:
            return Issued(existing, replay=True)
        if claim(services, request, actor.key_id, digest):
            break
        wait_for_other(services, request.declaration_id)  # a duplicate in flight: its answer is ours
    number = None
    try:
        with services.sessions() as session:
            _check_organisations(session, request)
        number = _allocate_number(services, request)
        row, key = _make_version(services, request, make, number=number, version=1)
        row.idempotency_key = scoped(actor.key_id, idempotency_key)
        row.issued_by, row.request_sha256 = actor.key_id, digest
        with transaction(services.sessions) as session:
            if key is not None:
                record_key(session, key, row.created_at)
            session.add(row)
            session.flush()
            repo.add_event(
                session,
                row,
                "issued",
                str(actor),
                row.created_at,
                details={"status": row.status, "pdf_sha256": row.pdf_sha256, "ofd_sha256": row.ofd_sha256},
            )
            repo.drop_claim(session, request.declaration_id)
        return Issued(row, replay=False)
    except BaseException as exc:
        release(services, request.declaration_id)
        if number is not None:
            _record_unused(services, number, actor, exc)
        raise


def reissue_certificate(
    services: Services,
    number: str,
    corrections: dict,
    reason: str,
    *,
    actor: Actor,
    kind: str = "换发",
    make: Make | None = None,
) -> Certificate:
    """A new version (补换证) with the corrected fields; the current one becomes superseded.
    The new version prints what it replaces: 补发 or 换发, the number and its issue date."""
    make = make or partial(make_document, services)
    with services.sessions() as session:
        current = _current_or_404(session, number)
        if current.status in ("revoked", "superseded"):
            raise Conflict(f"证书 {number} 已{_STATUS_CN[current.status]}，不能换发")
    base = stored_request(services, current)
    replaces = {"kind": kind, "original_number": number, "original_issue_date": current.issue_date.isoformat()}
    request = validate_payload(
        CertificateRequest,
        {**_merge(base, corrections), "replaces": replaces},
        services.settings.limits,
        path_prefix="corrections",
    )
    if request.committee.code != current.committee_code or request.issuer.code != current.issuer_code:
        message = "换发证书不能更改评委会或发证机关"
        raise InvalidInput(message, errors=[FieldError("corrections", message, "immutable")])
    row, key = _make_version(services, request, make, number=number, version=current.version + 1)
    try:
        with transaction(services.sessions) as session:
            if key is not None:
                record_key(session, key, row.created_at)
            old = repo.get_version(session, number, current.version)
            assert old is not None  # read above; a certificate's versions are never deleted
            if old.status in ("revoked", "superseded"):
                raise Conflict(f"证书 {number} 已{_STATUS_CN[old.status]}，不能换发")
            session.add(row)
            session.flush()
            old.status = "superseded"
            old.superseded_by_id = row.id
            repo.add_event(
                session, old, "superseded", str(actor), row.created_at, reason, {"superseded_by_version": row.version}
            )
            repo.add_event(
                session,
                row,
                "reissued",
                str(actor),
                row.created_at,
                reason,
                {"replaces_version": old.version, "corrected": sorted(_paths(corrections))},
            )
    except IntegrityError:
        raise Conflict(f"证书 {number} 正在被另一请求换发，请刷新后重试") from None
    return row


def revoke_certificate(
    services: Services, number: str, reason: str, *, actor: Actor, category: str = "other"
) -> Certificate:
    """Revoke the current version: ``category`` (one of REVOCATION_CATEGORIES) is what the
    public sees; ``reason``, staff's own words, stays internal."""
    with transaction(services.sessions) as session:
        current = _current_or_404(session, number)
        if current.status == "revoked":
            raise Conflict(f"证书 {number} 已于 {current.revoked_at:%Y-%m-%d} 撤销")
        now = services.clock()
        current.status = "revoked"
        current.revoked_at = now
        current.revoked_reason = reason
        current.revoked_category = category
        repo.add_event(session, current, "revoked", str(actor), now, reason, {"category": category})
        return current


# --- steps ----------------------------------------------------------------------

_STATUS_CN = {"revoked": "撤销", "superseded": "换发", "valid": "有效", "pending_seal": "待签章"}


def _check_organisations(session: Session, request: CertificateRequest) -> None:
    errors = []
    for path, party, role, label in (
        ("committee", request.committee, "committee", "评委会"),
        ("issuer", request.issuer, "issuer", "发证机关"),
    ):
        org = get_org(session, party.code)
        if org is None or not org.active or org.role != role:
            errors.append(
                FieldError(
                    f"{path}.code", f"{label}（代码 {party.code}）未在本服务登记，请联系管理员添加", "unknown_org"
                )
            )
        elif org.name != party.name:
            errors.append(FieldError(f"{path}.name", f"{label}名称与登记不一致：登记为「{org.name}」", "org_name"))
    if errors:
        raise InvalidInput(f"提交的数据有 {len(errors)} 处错误，请按提示修改", errors=errors)


def _allocate_number(services: Services, request: CertificateRequest) -> str:
    # Its own short transaction: numbering does not wait for rendering and sealing.
    with transaction(services.sessions) as session:
        seq = repo.next_sequence(session, request.committee.code, request.issue_date.year)
    return format_number(
        services.settings.number_pattern,
        province=province_of(request.committee.code),
        year=request.issue_date.year,
        committee=request.committee.code,
        seq=seq,
    )


def _record_unused(services: Services, number: str, actor: Actor, cause: BaseException) -> None:
    """A number allocated for a certificate that was not made: never reused, so say why."""
    reason = getattr(cause, "message", None) or f"{type(cause).__name__}: {cause}"
    try:
        with transaction(services.sessions) as session:
            repo.add_number_event(session, number, "unused", str(actor), services.clock(), reason[:1000])
    except Exception:  # noqa: BLE001 - the registry itself may be what failed; the log keeps it then
        log.error("certificate number %s was allocated but not used (%s); recording that failed too", number, reason)


def _make_version(
    services: Services, request: CertificateRequest, make: Make, *, number: str, version: int
) -> tuple[Certificate, KeyEntry | None]:
    """Render, seal and store one version; returns its (unsaved) row and the key that
    signed its offline payload (published in the transaction that records the row)."""
    token = secrets.token_urlsafe(16)
    identifier = make_identifier(
        type_code=services.settings.identifier_type_code,
        issuer_uscc=request.issuer.code,
        serial=number,
        version=version,
    )
    salt = secrets.token_bytes(SALT_BYTES)
    made = make(request, number=number, version=version, token=token, identifier=identifier, salt=salt)
    row = Certificate(
        number=number,
        version=version,
        identifier=identifier,
        token=token,
        status="valid" if made.seal_level else "pending_seal",
        declaration_id=request.declaration_id,
        holder_name=request.holder.name,
        holder_id_number=request.holder.id_number,
        committee_code=request.committee.code,
        issuer_code=request.issuer.code,
        issue_date=request.issue_date,
        request=request_without_photo(request),
        photo_sha256=services.files.put(request.holder.photo.content),
        pdf_sha256=services.files.put(made.pdf),
        pdf_size=len(made.pdf),
        seal_level=made.seal_level,
        sealed_at=services.clock() if made.seal_level else None,
        created_at=services.clock(),
        sealable_pdf_sha256=services.files.put(made.sealable_pdf) if made.sealable_pdf else None,
        archive_until=made.archive_until,
        offline_payload=made.offline.text if made.offline else None,
        offline_kid=made.offline.key.kid if made.offline else None,
        ofd_sha256=services.files.put(made.ofd) if made.ofd else None,
        ofd_size=len(made.ofd) if made.ofd else None,
    )
    return row, made.offline.key if made.offline else None


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
