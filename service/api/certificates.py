"""``/api/v1/certificates``: issue (platform), read (platform), reissue and revoke (staff)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from service.api.deps import (
    CertificateWorkersDep,
    ServicesDep,
    WebDep,
    in_worker,
    may_reissue,
    read_body,
    require_role,
)
from service.api.openapi import json_body
from service.api.strict_body import StrictJsonRoute
from service.api.web import Web
from service.batches.generation import generation_status
from service.certificates.document import make_document, verification_url
from service.certificates.issuance import Actor, issue_certificate, reissue_certificate, revoke_certificate
from service.certificates.offline_payload import printed_payload
from service.contract.certificate import REISSUE_KINDS, CertificateRequest
from service.contract.parse import parse_payload
from service.errors import FieldError, InvalidInput, NotFound
from service.offline.payload import qr_text
from service.registry import certificates as repo
from service.registry.models import ApiKey, Certificate
from service.services import Services
from service.verification.facts import REVOCATION_CATEGORIES

OFD_MEDIA_TYPE = "application/ofd"  # GB/T 33190's own; no IANA registration
router = APIRouter(prefix="/api/v1/certificates", tags=["certificates"], route_class=StrictJsonRoute)
Platform = Annotated[ApiKey, Depends(require_role("platform"))]
Staff = Annotated[ApiKey, Depends(require_role("staff"))]
Reissuer = Annotated[ApiKey, Depends(may_reissue)]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=200, description="重试同一请求时携带相同的值，不会重复签发")
]


def actor_of(key: ApiKey) -> Actor:
    return Actor(role=key.role, key_id=key.key_id)


def certificate_json(services, cert: Certificate, versions: list[Certificate] | None = None) -> dict:
    request = cert.request
    body = {
        "number": cert.number,
        "identifier": cert.identifier,
        "version": cert.version,
        "status": cert.status,
        "declaration_id": cert.declaration_id,
        "holder": {"name": cert.holder_name, "id_number": cert.holder_id_number},
        "qualification": request["qualification"],
        "committee": {"code": cert.committee_code, "name": request["committee"]["name"]},
        "issuer": {"code": cert.issuer_code, "name": request["issuer"]["name"]},
        "issue_date": cert.issue_date.isoformat(),
        "verification_url": verification_url(services.settings, cert.token),
        # what the QR code holds: the URL, and after "#" the signed offline payload (or null)
        "qr_text": qr_text(verification_url(services.settings, cert.token), printed_payload(cert)),
        "offline_payload": printed_payload(cert),
        "pdf_url": f"/api/v1/certificates/{cert.number}/pdf?version={cert.version}",
        "pdf_sha256": cert.pdf_sha256,
        "pdf_size": cert.pdf_size,
        # the OFD twin (GB/T 38540 seals), where the province issues OFD and it was sealed
        "ofd_url": f"/api/v1/certificates/{cert.number}/ofd?version={cert.version}" if cert.ofd_sha256 else None,
        "ofd_sha256": cert.ofd_sha256,
        "seal_level": cert.seal_level,
        "sealed_at": cert.sealed_at.isoformat() if cert.sealed_at else None,
        "revoked": {"at": cert.revoked_at.isoformat(), "category": cert.revoked_category, "reason": cert.revoked_reason}
        if cert.revoked_at
        else None,
        "created_at": cert.created_at.isoformat(),
    }
    if versions is not None:
        body["versions"] = [
            {
                "version": v.version,
                "status": v.status,
                "identifier": v.identifier,
                "created_at": v.created_at.isoformat(),
            }
            for v in versions
        ]
    return body


@router.post(
    "",
    status_code=201,
    summary="签发职称电子证书",
    openapi_extra=json_body(CertificateRequest, "certificate"),
    responses={
        200: {"description": "重复请求：返回此前签发的同一证书"},
        201: {"description": "已签发"},
        422: {"description": "数据有误"},
    },
)
async def issue(
    request: Request,
    services: ServicesDep,
    workers: CertificateWorkersDep,
    key: Platform,
    idempotency_key: IdempotencyKey = None,
):
    body = await read_body(request, services.settings.limits.max_body_bytes)
    # Parsing decodes and checks the photo: CPU work, off the event loop.
    payload = await run_in_threadpool(parse_payload, CertificateRequest, body, services.settings.limits)
    issued = await run_in_threadpool(
        issue_certificate,
        services,
        payload,
        actor=actor_of(key),
        idempotency_key=idempotency_key,
        make=in_worker(workers, make_document),
    )
    headers = {"Location": f"/api/v1/certificates/{issued.certificate.number}"}
    if issued.replay:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(
        certificate_json(services, issued.certificate), status_code=200 if issued.replay else 201, headers=headers
    )


@router.get(
    "",
    summary="持证人的证书（我的职称），或一份申报的证书（含「生成中」）",
    description=(
        "按证件号码（id_number）列出持证人的证书；或按申报编号（declaration_id）查一份申报的证书："
        "已签发则 status 为「已签发」并给出证书；批量签发任务尚未签发到它时 status 为「生成中」，"
        "并给出任务、排在它前面的数量和预计剩余秒数；两者都没有时 404。"
    ),
)
def holder_certificates(
    services: ServicesDep,
    key: Platform,
    id_number: Annotated[str | None, Query(min_length=6, max_length=100, description="证件号码")] = None,
    declaration_id: Annotated[str | None, Query(min_length=1, max_length=200, description="申报编号")] = None,
):
    if (id_number is None) == (declaration_id is None):
        message = "请只给出 id_number（证件号码）或 declaration_id（申报编号）之一"
        raise InvalidInput(message, errors=[FieldError("query", message, "one_of")])
    if declaration_id is not None:
        return declaration_certificate(services, declaration_id.strip())
    assert id_number is not None
    with services.sessions() as session:
        return [certificate_json(services, c) for c in repo.holder_certificates(session, id_number.strip().upper())]


def declaration_certificate(services: Services, declaration_id: str) -> dict:
    with services.sessions() as session:
        first = repo.by_declaration(session, declaration_id)
        versions = repo.versions_of(session, first.number) if first is not None else []
    if versions:
        return {
            "declaration_id": declaration_id,
            "status": "已签发",
            "certificate": certificate_json(services, versions[-1], versions),
        }
    generating = generation_status(services, declaration_id)
    if generating is None:
        raise NotFound(f"没有为申报 {declaration_id} 签发的证书，也没有正在签发它的批量任务")
    return {"declaration_id": declaration_id, **generating}


@router.get("/{number}", summary="证书详情（当前版本及历次版本）")
def read_certificate(number: str, services: ServicesDep, key: Platform) -> dict:
    with services.sessions() as session:
        versions = repo.versions_of(session, number)
        if not versions:
            raise NotFound(f"没有编号为 {number} 的证书")
        return certificate_json(services, versions[-1], versions)


@router.get(
    "/{number}/pdf",
    summary="证书 PDF 文件",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def certificate_pdf(
    number: str, services: ServicesDep, key: Platform, version: Annotated[int | None, Query(ge=1, le=100_000)] = None
) -> Response:
    cert = _version_or_404(services, number, version)
    return _file_response(services, cert, cert.pdf_sha256, "pdf", "application/pdf")


@router.get(
    "/{number}/ofd",
    summary="证书 OFD 文件（GB/T 38540 电子印章）",
    response_class=Response,
    responses={200: {"content": {OFD_MEDIA_TYPE: {}}}, 404: {"description": "没有该证书，或其没有 OFD 版本"}},
)
def certificate_ofd(
    number: str, services: ServicesDep, key: Platform, version: Annotated[int | None, Query(ge=1, le=100_000)] = None
) -> Response:
    if not services.profile.certificate.issues_ofd:
        raise NotFound(f"本省（{services.profile.province}）的证书不签发 OFD 版本，请下载 PDF")
    cert = _version_or_404(services, number, version)
    if cert.ofd_sha256 is None:
        state = "尚未加盖电子印章" if cert.status == "pending_seal" else "签发时未生成 OFD 版本"
        raise NotFound(f"证书 {number}（第 {cert.version} 版）没有 OFD 版本：{state}")
    return _file_response(services, cert, cert.ofd_sha256, "ofd", OFD_MEDIA_TYPE)


def _version_or_404(services: Services, number: str, version: int | None) -> Certificate:
    with services.sessions() as session:
        cert = repo.get_version(session, number, version) if version else repo.current_version(session, number)
    if cert is None:
        raise NotFound(f"没有编号为 {number} 的证书" + (f"（第 {version} 版）" if version else ""))
    return cert


def _file_response(services: Services, cert: Certificate, digest: str, suffix: str, media_type: str) -> Response:
    return Response(
        services.files.get(digest),
        media_type=media_type,
        headers={
            "Content-Disposition": f'inline; filename="{cert.number}-v{cert.version}.{suffix}"',
            "ETag": f'"{digest}"',
        },
    )


class Reissue(BaseModel):
    reason: Annotated[str, Field(min_length=2, max_length=500, description="换发原因（补证、更正信息等）")]
    kind: Literal[REISSUE_KINDS] | None = Field(
        None, description="补发（证书遗失）或换发（信息更正）；不填：有更正为换发，否则为补发。印在新版本上"
    )
    corrections: dict = Field(
        default_factory=dict, description='更正后的字段，结构同签发请求（如 {"holder": {"name": "…"}}）'
    )


class Revoke(BaseModel):
    category: Literal[tuple(REVOCATION_CATEGORIES)] = Field(
        "other",
        description="公开显示的撤销原因类别：" + "；".join(f"{k}（{v}）" for k, v in REVOCATION_CATEGORIES.items()),
    )
    reason: Annotated[str, Field(min_length=2, max_length=500, description="撤销原因（仅内部留存，不公开）")]


def forget_scans(services: Services, web: Web, number: str) -> None:
    """Drop this process's cached scan answers for every version of ``number`` (other
    worker processes catch up within the cache's few seconds)."""
    with services.sessions() as session:
        web.scan_cache.forget([v.token for v in repo.versions_of(session, number)])


@router.post("/{number}/reissue", status_code=201, summary="补换证：以更正后的信息签发新版本")
async def reissue(
    number: str, body: Reissue, services: ServicesDep, web: WebDep, workers: CertificateWorkersDep, key: Reissuer
) -> dict:
    row = await run_in_threadpool(
        reissue_certificate,
        services,
        number,
        body.corrections,
        body.reason,
        kind=body.kind or ("换发" if body.corrections else "补发"),
        actor=actor_of(key),
        make=in_worker(workers, make_document),
    )
    forget_scans(services, web, number)
    return certificate_json(services, row)


@router.post("/{number}/revoke", summary="撤销证书")
def revoke(number: str, body: Revoke, services: ServicesDep, web: WebDep, key: Staff) -> dict:
    row = revoke_certificate(services, number, body.reason, actor=actor_of(key), category=body.category)
    forget_scans(services, web, number)
    return certificate_json(services, row)


@router.get("/{number}/events", summary="证书的审计记录（只读）")
def events(number: str, services: ServicesDep, key: Staff) -> list[dict]:
    with services.sessions() as session:
        rows = repo.events_of(session, number)
    if not rows:
        raise NotFound(f"没有编号为 {number} 的证书")
    return [
        {
            "version": e.version,
            "action": e.action,
            "actor": e.actor,
            "reason": e.reason,
            "details": e.details,
            "at": e.at.isoformat(),
        }
        for e in rows
    ]
