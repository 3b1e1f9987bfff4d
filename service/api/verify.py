"""证书查验: the QR landing page, lookup by number and name, PDF upload; pages and JSON.

Public: no key. Lookups and uploads are rate-limited per client address.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.deps import (
    ServicesDep,
    WorkersDep,
    get_web,
    read_body,
    read_upload,
    upload_limiter,
)
from service.api.errors import signing_status
from service.api.static import held_file_response
from service.api.strict_body import StrictJsonRoute
from service.contract.common import Name, identifier_text
from service.errors import FieldError, InvalidInput, RateLimited, ServiceError, Unavailable
from service.observability.metrics import count_error, count_verdict
from service.registry import certificates as repo
from service.signing.errors import SigningError
from service.verification.facts import (
    lookup_by_number_and_name,
    needs_seal_check,
    public_facts,
)
from service.verification.files import UploadAnswer, check_stored_seals, check_upload_in_worker, public_copy_of
from service.verification.ofd_upload import is_ofd
from service.verification.ratelimit import client_address

router = APIRouter(tags=["verification"], route_class=StrictJsonRoute)
PAGE_CACHE = "public, max-age=60, must-revalidate"
# Every lookup answers after at least this long, found or not, so that timing tells nothing.
LOOKUP_FLOOR_S = 0.05


# --- the QR landing page --------------------------------------------------------


def _plausible_token(token: str) -> bool:
    return 8 <= len(token) <= 40 and token.replace("-", "").replace("_", "").isalnum()


def _read_token(services, token: str):
    """(the version a QR token names, the current version), or None. One indexed read, in
    autocommit (one round trip)."""
    with services.read_connection() as connection:
        cert = repo.find_by_token_row(connection, token)
    return _with_current(services, cert)


def _with_current(services, cert):
    if cert is None or cert.status != "superseded":
        return None if cert is None else (cert, cert)
    with services.read_sessions()() as session:  # a reissued version's page names the current one
        return cert, repo.current_version(session, cert.number)


async def _token_versions(request: Request, services, token: str):
    """``_read_token`` on the event loop where the registry has an asyncio driver
    (PostgreSQL, service.registry.scan_reads), in a thread otherwise."""
    reads = request.app.state.scan_reads
    if reads is None:
        return await run_in_threadpool(_read_token, services, token)
    cert = await reads.by_token(token)
    if cert is not None and cert.status == "superseded":  # the current version: a read in a thread
        return await run_in_threadpool(_with_current, services, cert)
    return _with_current(services, cert)  # no read for any other


async def token_facts(request: Request, services, token: str, *, offline: bool = True) -> dict | None:
    """The public facts behind a QR token (None: no such certificate; ``offline``: as
    ``public_facts``). The seals validated only on a certificate's first view (then daily),
    in a worker process within the validation time budget."""
    if not _plausible_token(token):
        return None
    found = await _token_versions(request, services, token)
    if found is not None and needs_seal_check(found[0], datetime.now(UTC)):
        await _check_seals_once(request, services, found[0].id)
        found = await _token_versions(request, services, token)
    return public_facts(*found, offline=offline) if found is not None else None


async def _check_seals_once(request: Request, services, certificate_id: int) -> None:
    """One seal check per certificate at a time in this process: a new certificate's QR
    code scanned by a room at once waits for one check, not one each."""
    running: dict[int, asyncio.Future] = request.app.state.seal_checks
    pending = running.get(certificate_id)
    if pending is not None:
        await asyncio.shield(pending)
        return
    pending = running[certificate_id] = asyncio.get_running_loop().create_future()
    try:
        await request.app.state.workers.run(
            check_stored_seals, certificate_id, admitted=True, timeout=services.settings.upload_timeout_seconds
        )
    finally:
        del running[certificate_id]
        pending.set_result(None)


def _page(services, request: Request, template: str, status: int = 200, cache: bool = True, **context) -> Response:
    html = get_web(request).pages.render(template, **context).encode()
    if not cache:
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
    return _cached_response(request, html, "text/html; charset=utf-8", status)


def _cached_response(request: Request, body: bytes, media_type: str, status: int = 200) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": PAGE_CACHE}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, status_code=status, media_type=media_type, headers=headers)


async def _scan(request: Request, token: str, kind: str, build) -> tuple[int, bytes]:
    """(status, body) of a scan answer, from a cache a few seconds long.

    A printed certificate is scanned again and again: the answer is the same
    until its status changes, and a revocation shows within SCAN_CACHE_SECONDS
    (the page itself says CDNs may keep it for a minute). The two scan routes take
    the services from the application, not as a dependency: FastAPI's resolving of
    one was a tenth of an uncached scan's time."""
    services = request.app.state.services

    async def make() -> tuple:
        facts = await token_facts(request, services, token, offline=kind == "json")
        return (*build(facts), _verdict_of(facts))  # the verdict kept for the metrics

    status, body, verdict = await get_web(request).scan_cache.answer((kind, token), make)
    count_verdict(verdict, "scan")
    return status, body


def _verdict_of(facts: dict | None) -> str:
    """A lookup's or a scan's verdict: the certificate's status, or not_found."""
    return "not_found" if facts is None else str(facts.get("status") or "unknown")


@router.get("/v/{token}", response_class=HTMLResponse, summary="扫码查验页面", include_in_schema=False)
async def scan_page(token: str, request: Request) -> Response:
    def build(facts):
        if facts is None:
            return 404, get_web(request).pages.render(
                "not_found.html", message="二维码无效或证书不存在。请确认扫描的是本服务签发的证书二维码。"
            ).encode()
        return 200, get_web(request).pages.render("certificate.html", f=facts, file_url=f"/v/{token}/file").encode()

    status, body = await _scan(request, token, "page", build)
    return _cached_response(request, body, "text/html; charset=utf-8", status)


@router.get("/v/{token}/file", include_in_schema=False)
async def scan_file(token: str, request: Request, services: ServicesDep, workers: WorkersDep) -> Response:
    """The certificate as the public may see it: photo withheld, ID number masked."""
    cert = await run_in_threadpool(_find_by_token, services, token) if _plausible_token(token) else None
    if cert is None:
        return _page(services, request, "not_found.html", status=404, message="二维码无效或证书不存在。")
    if cert.public_pdf_sha256 and services.files.exists(cert.public_pdf_sha256):
        pdf = await run_in_threadpool(services.files.get, cert.public_pdf_sha256)
    else:
        pdf = await workers.run(public_copy_of, cert.id)  # made once, then kept in the file store
    response = _cached_response(request, pdf, "application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{cert.number}-public.pdf"'
    return response


def _find_by_token(services, token: str):
    with services.sessions() as session:
        return repo.find_by_token(session, token)


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    # Browsers ask for it on every page; answer without a 404 in their console.
    return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/static/{name}", include_in_schema=False)
def static_file(name: str, request: Request, services: ServicesDep) -> Response:
    return held_file_response(get_web(request).pages.static.get(name), request)


NOT_FOUND_JSON: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "二维码无效或证书不存在",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["found", "message"],
                    "properties": {"found": {"const": False}, "message": {"type": "string", "minLength": 1}},
                }
            }
        },
    }
}


@router.get("/api/v1/verify/token/{token}", summary="按二维码令牌查验", responses=NOT_FOUND_JSON)
async def scan_json(token: str, request: Request) -> Response:
    def build(facts):
        if facts is None:
            return 404, json.dumps({"found": False, "message": "二维码无效或证书不存在"}, ensure_ascii=False).encode()
        return 200, json.dumps({"found": True, **facts}, ensure_ascii=False).encode()

    status, body = await _scan(request, token, "json", build)
    return _cached_response(request, body, "application/json", status)


# --- lookup by number + name ----------------------------------------------------


LookupNumber = identifier_text(40)


class Lookup(BaseModel):
    # As the certificate spells them: visible characters only, NFC (a name with a hidden
    # direction override would otherwise miss the certificate it names).
    number: LookupNumber
    name: Name


def _limit(services, request: Request) -> None:
    peer = request.client.host if request.client else None
    client = client_address(peer, request.headers.get("x-forwarded-for"), services.settings.trusted_proxies)
    wait = get_web(request).limiter.take(client)
    if wait > 0:
        raise RateLimited(
            "查验过于频繁，请稍后再试", headers={"Retry-After": get_web(request).limiter.retry_after(wait)}
        )


async def _lookup(services, number: str, name: str) -> dict | None:
    started = time.monotonic()

    def find():
        with services.sessions() as session:
            cert = lookup_by_number_and_name(session, number, name)
            if cert is None:
                return None
            current = repo.current_version(session, cert.number)
        return public_facts(cert, current)

    facts = await run_in_threadpool(find)
    await asyncio.sleep(max(0.0, LOOKUP_FLOOR_S - (time.monotonic() - started)))
    return facts


@router.post("/api/v1/verify/lookup", summary="按证书编号和姓名查验")
async def lookup_json(body: Lookup, request: Request, services: ServicesDep) -> JSONResponse:
    _limit(services, request)
    facts = await _lookup(services, body.number, body.name)
    count_verdict(_verdict_of(facts), "lookup")
    if facts is None:
        return JSONResponse(
            {"found": False, "message": "未查到匹配的证书，请核对证书编号和姓名"}, headers={"Cache-Control": "no-store"}
        )
    return JSONResponse({"found": True, **facts}, headers={"Cache-Control": "no-store"})


# --- upload ---------------------------------------------------------------------


async def _upload_bytes(request: Request, services) -> bytes:
    limit = services.settings.limits.max_upload_bytes
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return (await read_upload(request, limit, "请选择要查验的证书 PDF 或 OFD 文件")).data
    return await read_body(request, limit)


class UploadGate:
    """Public uploads in this process, from the first byte of the body to the answer: at
    most ``size`` (``ZC_UPLOAD_QUEUE``). Admitted before the body is read, so that slow or
    stalled uploads can neither hold the memory of their bodies without bound nor queue
    ahead of everyone for minutes: one more is a 503 with Retry-After at once."""

    def __init__(self, size: int):
        self.size = size
        self.inside = 0

    def __enter__(self) -> UploadGate:
        if self.inside >= self.size:
            raise Unavailable("查验服务繁忙：正在处理的上传过多，请稍后重试", headers={"Retry-After": "5"})
        self.inside += 1
        return self

    def __exit__(self, *exc) -> None:
        self.inside -= 1


async def _uploaded_and_checked(request: Request, services) -> UploadAnswer:
    with request.app.state.upload_gate:
        return await _check_upload(request, services, await _upload_bytes(request, services))


async def _check_upload(request: Request, services, data: bytes) -> UploadAnswer:
    if not data.lstrip()[:5] == b"%PDF-" and not is_ofd(data):
        raise InvalidInput(
            "上传的文件不是 PDF 或 OFD：请上传证书 PDF 或 OFD 文件",
            errors=[FieldError("file", "文件不是 PDF 或 OFD", "not_pdf")],
        )
    # In a checker process of its own (killed past its time, its memory under a ceiling),
    # a few at a time: public uploads never crowd out the platform's documents.
    async with upload_limiter(request):
        answer = await request.app.state.upload_workers.run(
            check_upload_in_worker, data, admitted=True, timeout=services.settings.upload_timeout_seconds
        )
    count_verdict(answer.verdict, "upload")
    return answer


@router.post(
    "/api/v1/verify/upload",
    summary="上传证书 PDF 或 OFD 查验",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "application/ofd": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
                },
            }
        }
    },
)
async def upload_json(request: Request, services: ServicesDep) -> JSONResponse:
    _limit(services, request)
    answer = await _uploaded_and_checked(request, services)
    return JSONResponse(answer.json(), headers={"Cache-Control": "no-store"})


# --- the pages for lookup and upload ------------------------------------------------


def _error_page(services, request: Request, status: int, code: str, message: str) -> Response:
    """The verification page again with what went wrong, counted by its code as the JSON
    errors are (``zc_errors_total``)."""
    count_error(code)
    return _page(services, request, "verify.html", status=status, cache=False, error=message, number=None)


@router.get("/verify", response_class=HTMLResponse, include_in_schema=False)
def verify_page(request: Request, services: ServicesDep) -> Response:
    return _page(services, request, "verify.html", error=None, number=None)


@router.post("/verify", response_class=HTMLResponse, include_in_schema=False)
async def verify_submit(request: Request, services: ServicesDep) -> Response:
    try:
        _limit(services, request)
    except RateLimited as exc:
        response = _error_page(services, request, exc.status, exc.code, "查验过于频繁，请稍后再试")
        response.headers.update(exc.headers)
        return response
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("multipart/form-data"):
            answer = await _uploaded_and_checked(request, services)
            return _page(services, request, "upload_result.html", cache=False, verdict=answer, f=answer.page_facts())
        form = await request.form(max_files=0, max_fields=5)
        lookup = Lookup(
            number=str(form.get("number", "")).strip() or "-", name=str(form.get("name", "")).strip() or "-"
        )
    except ServiceError as exc:
        return _error_page(services, request, exc.status, exc.code, exc.message)
    except SigningError as exc:
        status, message = signing_status(exc)
        return _error_page(services, request, status, exc.code, message)
    except StarletteHTTPException as exc:  # a body that is not a form
        return _error_page(services, request, 400, "unreadable_body", f"提交的内容无法读取：{exc.detail}")
    except ValueError:
        return _error_page(
            services, request, 422, "invalid_input", "请填写证书编号（最多 40 个字符）和持证人姓名（最多 50 个字符）"
        )
    facts = await _lookup(services, lookup.number, lookup.name)
    count_verdict(_verdict_of(facts), "lookup")
    if facts is None:
        return _page(services, request, "lookup_miss.html", cache=False)
    return _page(services, request, "certificate.html", cache=False, f=facts, file_url=None)
