"""Dependencies shared by the routers: the service container, keys, bodies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from anyio import CapacityLimiter, from_thread
from fastapi import Depends, Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.strict_body import refuse_encoded
from service.api.web import Web
from service.errors import FieldError, Forbidden, InvalidInput, TooLarge, Unauthorized
from service.registry.api_keys import find_api_key
from service.registry.models import ApiKey
from service.services import Services
from service.workers.pool import WorkerPool


# The dependencies that only read the application's state are coroutines: FastAPI runs a
# plain function dependency in the threadpool, a thread hop per request for an attribute.
async def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_web(request: Request) -> Web:
    return request.app.state.web


async def _web(request: Request) -> Web:
    return get_web(request)


WebDep = Annotated[Web, Depends(_web)]


async def get_workers(request: Request) -> WorkerPool:
    return request.app.state.workers


WorkersDep = Annotated[WorkerPool, Depends(get_workers)]


async def get_certificate_workers(request: Request) -> WorkerPool:
    """The workers that issue and reissue (``ZC_CERTIFICATE_PROCESSES``): their own, so that
    a certificate never queues behind a long form."""
    return request.app.state.certificate_workers


CertificateWorkersDep = Annotated[WorkerPool, Depends(get_certificate_workers)]


def upload_limiter(request: Request) -> CapacityLimiter:
    """The threads uploaded PDFs are checked on (``ZC_UPLOAD_CHECKS_AT_ONCE``): their own,
    so that uploads never take the threads the scan pages need."""
    return request.app.state.upload_limiter


def in_worker(workers: WorkerPool, task: Callable[..., Any]):
    """``task`` as a plain function for code running in a worker thread: each call runs it
    in a worker process through the event loop (admission and time limits included)."""

    def call(*args, **kwargs):
        return from_thread.run(partial(workers.run, task, *args, **kwargs))

    return call


def _caller(request: Request, services: ServicesDep) -> ApiKey:
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Unauthorized(
            "缺少 API 密钥：请在请求头中提供 Authorization: Bearer <key>", headers={"WWW-Authenticate": "Bearer"}
        )
    with services.sessions() as session:
        key = find_api_key(session, presented.strip())
    if key is None:
        raise Unauthorized("API 密钥无效或已停用", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return key


def require_role(*roles: str):
    """A dependency admitting callers whose key has one of ``roles`` (admin always)."""

    async def check(key: Annotated[ApiKey, Depends(_caller)]) -> ApiKey:
        if key.role != "admin" and key.role not in roles:
            raise Forbidden(f"该 API 密钥的角色（{key.role}）无权执行此操作，需要：{'、'.join(roles)}")
        return key

    return check


async def may_reissue(key: Annotated[ApiKey, Depends(_caller)], services: ServicesDep) -> ApiKey:
    """Staff always; the platform's keys where the province's profile lets the platform
    reissue (Anhui: the platform makes the new certificate once the 发证机关 approves)."""
    roles = services.profile.reissue.roles
    if key.role != "admin" and key.role not in roles:
        raise Forbidden(
            f"该 API 密钥的角色（{key.role}）无权补换证：本省（{services.profile.province}）由{'、'.join(roles)}办理"
        )
    return key


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) past ``limit`` bytes before reading it all, and
    refusing a compressed one (415)."""
    refuse_encoded(request)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise _too_large(limit)
    return bytes(received)


def _too_large(limit: int) -> TooLarge:
    message = f"请求体过大：最多 {limit / 1048576:.0f} MB"
    return TooLarge(message, errors=[FieldError("(body)", message, "too_large")])


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes
    fields: dict[str, str]  # the form's other, plain fields


def _capped_receive(receive, limit: int, message: str):
    seen = 0

    async def capped():
        nonlocal seen
        event = await receive()
        if event["type"] == "http.request":
            seen += len(event.get("body", b""))
            if seen > limit:
                raise TooLarge(message, errors=[FieldError("file", message, "too_large")])
        return event

    return capped


async def read_upload(request: Request, limit: int, missing_file: str) -> Upload:
    """A multipart upload: its one file (at most ``limit`` bytes) and its plain fields.

    Refused before reading when the declared length is too large, and while
    reading past ``limit``; a malformed body or a missing file is a 422."""
    refuse_encoded(request)
    too_large = f"上传文件过大：最多 {limit // 1048576} MB"
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:  # room for the other fields
        raise TooLarge(too_large, errors=[FieldError("file", too_large, "too_large")])
    # The whole body counted as it arrives (a chunked upload declares no length): past the
    # limit it is refused there, not spooled to disk to the end first.
    capped = Request(request.scope, _capped_receive(request.receive, limit + 64 * 1024, too_large))
    try:
        form = await capped.form(max_files=1, max_fields=10)
    except StarletteHTTPException as exc:
        message = f"上传内容不是有效的 multipart/form-data：{exc.detail}"
        raise InvalidInput(message, errors=[FieldError("(body)", message, "bad_multipart")]) from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput(missing_file, errors=[FieldError("file", missing_file, "missing")])
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(too_large, errors=[FieldError("file", too_large, "too_large")])
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    return Upload(filename=upload.filename or "", data=data, fields=fields)
