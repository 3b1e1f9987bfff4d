"""``/api/v1/batches``: batch jobs for staff (seal, renew) and the platform (issue).

Creating a job answers 202 and its id at once; the coordinator works through it. The
same ``Idempotency-Key`` from the same key gets the job it made (200).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import TypeAdapter, ValidationError

from service.api.deps import ServicesDep, WorkersDep, read_body, read_upload, require_role
from service.api.forms import run_response
from service.api.openapi import json_body
from service.batches.archive import archive_chunks
from service.batches.catalog import all_kinds, job_request_type, kind_named
from service.batches.engine import engine_name
from service.batches.issue_kind import IssueJob
from service.batches.jobs import create_job, get_job_or_404, job_key_of, job_not_found, request_cancel
from service.batches.printing import print_job
from service.batches.progress import job_status
from service.contract.errors import field_errors
from service.contract.parse import parse_json
from service.errors import FieldError, Forbidden, InvalidInput
from service.registry import batches as repo
from service.registry.models import ApiKey
from service.services import Services

router = APIRouter(prefix="/api/v1/batches", tags=["batches"])
StaffOrPlatform = Annotated[ApiKey, Depends(require_role("staff", "platform"))]
Staff = Annotated[ApiKey, Depends(require_role("staff"))]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="重复提交同一任务时携带相同的值，返回原任务"),
]
JOB_REQUEST = TypeAdapter(job_request_type())  # the service's own kinds, for the API's schema
TERMINAL = repo.TERMINAL


async def _job_request(request: Request, services: Services):
    """A job as JSON, or an issue job as JSON Lines (a body, or an uploaded file)."""
    limits = services.settings.limits
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        lines = (await read_upload(request, limits.max_upload_bytes, "请以 file 字段上传 JSON Lines 文件")).data
        return _issue_from_lines(lines)
    body = await read_body(request, max(limits.max_body_bytes, limits.max_upload_bytes))
    if content_type.startswith(("application/x-ndjson", "application/jsonl", "application/x-jsonlines")):
        return _issue_from_lines(body)
    data = parse_json(body)
    kind = kind_named(data.get("kind") if isinstance(data, dict) else None)
    try:
        return kind.request.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        raise InvalidInput(f"提交的任务有 {len(errors)} 处错误，请按提示修改", errors=errors) from None


def _issue_from_lines(data: bytes) -> IssueJob:
    requests = []
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        value = parse_json(line.encode(), where=f"line {number}", what=f"第 {number} 行")
        if not isinstance(value, dict):
            message = f"第 {number} 行应为一个证书签发请求（JSON 对象）"
            raise InvalidInput(message, errors=[FieldError(f"line {number}", message, "dict_type")])
        requests.append(value)
    try:
        return IssueJob(kind="issue", requests=requests)
    except ValidationError as exc:
        raise InvalidInput("JSON Lines 文件中没有证书签发请求，或超过上限", errors=field_errors(exc)) from None


def owner_scope(key: ApiKey) -> str | None:
    """Whose jobs a key sees: a platform key only those it created; staff and admin all."""
    return f"platform:{key.key_id}" if key.role == "platform" else None


def job_json(status: dict) -> dict:
    return {
        **status,
        "url": f"/api/v1/batches/{status['id']}",
        "events_url": f"/api/v1/batches/{status['id']}/events",
        "archive_url": f"/api/v1/batches/{status['id']}/archive",
    }


@router.post(
    "",
    status_code=202,
    summary="新建批量任务（加盖印章、批量签发、续期时间戳）",
    openapi_extra=json_body(JOB_REQUEST),
    responses={200: {"description": "同一任务此前已提交：返回原任务"}, 202: {"description": "任务已受理"}},
)
async def create(
    request: Request, services: ServicesDep, key: StaffOrPlatform, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    job_request = await _job_request(request, services)
    kind = kind_named(job_request.kind)
    if key.role not in (*kind.roles, "admin"):
        allowed = "、".join(f"{k.name}（{k.title}）" for k in all_kinds().values() if key.role in k.roles)
        raise Forbidden(f"{kind.title}（{kind.name}）任务不能由 {key.role} 密钥提交；此密钥可提交：{allowed or '无'}")
    scope = f"{key.role}:{key.key_id}"
    job_key = job_key_of(job_request, idempotency_key, scope) if idempotency_key else None
    job, created = await run_in_threadpool(
        create_job, services, job_request, created_by=scope, engine=engine_name(services), job_key=job_key
    )
    request.app.state.coordinator.wake()
    status = await run_in_threadpool(job_status, services, job.id)
    return JSONResponse(
        job_json(status), status_code=202 if created else 200, headers={"Location": f"/api/v1/batches/{job.id}"}
    )


@router.get("", summary="最近的批量任务")
def recent(services: ServicesDep, key: StaffOrPlatform) -> list[dict]:
    with services.sessions() as session:
        jobs = repo.recent_jobs(session, created_by=owner_scope(key))
        return [
            {
                "id": j.id,
                "kind": j.kind,
                "state": j.state,
                "total": j.total,
                "created_by": j.created_by,
                "created_at": j.created_at.isoformat(),
                "url": f"/api/v1/batches/{j.id}",
            }
            for j in jobs
        ]


@router.get("/{job_id}", summary="任务进度：完成、失败（逐项原因）、速率、预计剩余时间")
def status(job_id: str, services: ServicesDep, key: StaffOrPlatform) -> dict:
    return job_json(job_status(services, job_id, owner=owner_scope(key)))


@router.post("/{job_id}/cancel", summary="取消任务（进行中的项目做完为止）")
def cancel(job_id: str, request: Request, services: ServicesDep, key: Staff) -> dict:
    request_cancel(services, job_id)
    request.app.state.coordinator.wake()
    return job_json(job_status(services, job_id))


@router.get(
    "/{job_id}/events",
    summary="任务进度（Server-Sent Events，直至结束）",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(job_id: str, request: Request, services: ServicesDep, key: StaffOrPlatform) -> StreamingResponse:
    return await follow_job(request, services, job_id, f"{key.role}:{key.key_id}", owner_scope(key))


async def follow_job(
    request: Request, services: Services, job_id: str, follower: str, owner: str | None
) -> StreamingResponse:
    """``progress`` events while the job runs (one each time it moved), then ``end``; a 404
    (or 429/503 when the follower or the service has too many streams) before it starts."""
    progress = request.app.state.progress
    progress.admit(follower)
    first = progress.known_status(job_id)
    if first is None:
        first = await run_in_threadpool(job_status, services, job_id, 20, owner)
    elif owner is not None and first.get("created_by") != owner:
        raise job_not_found(job_id)  # the same 404 as for a job that is not there
    return progress.response(job_id, follower, first, {"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get(
    "/{job_id}/archive",
    summary="任务生成的证书 PDF 压缩包（含清单 manifest.json）",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
def archive(job_id: str, services: ServicesDep, key: StaffOrPlatform) -> StreamingResponse:
    return archive_response(services, job_id, owner_scope(key))


@router.get(
    "/{job_id}/print",
    summary="任务的全部证书合为一个 PDF（每页一张，供线下盖章打印）",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def print_certificates(
    job_id: str,
    services: ServicesDep,
    workers: WorkersDep,
    key: StaffOrPlatform,
    duplex: Annotated[
        bool | None, Query(description="双面打印：每张证书的背面留空并注明“此页无正文”；不填：本省默认")
    ] = None,
    manifest: Annotated[bool, Query(description="卷首目录")] = True,
) -> Response:
    with services.sessions() as session:
        get_job_or_404(session, job_id, owner_scope(key))
    settings = services.settings
    settings.print_runs_dir.mkdir(parents=True, exist_ok=True)
    run = await workers.run(
        print_job, job_id, duplex, manifest, str(settings.print_runs_dir), timeout=settings.booklet_timeout_seconds
    )
    return run_response(run, f"batch-{job_id}-print.pdf")


def archive_response(services: Services, job_id: str, owner: str | None) -> StreamingResponse:
    with services.sessions() as session:
        get_job_or_404(session, job_id, owner)
    return StreamingResponse(
        archive_chunks(services, job_id),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="batch-{job_id}.zip"'},
    )
