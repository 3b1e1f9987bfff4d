"""``/api/v1/forms``: render a form from a payload, as PDF or as a PNG page preview."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from service.api.deps import ServicesDep, WorkersDep, read_body, read_upload, require_role
from service.api.openapi import json_body, model_schema
from service.errors import FieldError, InvalidInput, NotFound, UnsupportedMedia
from service.forms.booklet import BookletRequest, PrintedRun
from service.forms.produce import Document, FormSource, booklet_document, form_document
from service.forms.spec import FormSpec
from service.services import Services

Format = Annotated[Literal["pdf", "png"], Query(description="pdf：整份文件；png：第 page 页的预览图")]
Page = Annotated[int, Query(ge=1, le=10000, description="预览页码（从 1 开始），仅 format=png 时有效")]

PDF_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/pdf": {}, "image/png": {}},
        "description": "PDF/A-3b 文件（附带提交的 JSON），或一页 PNG 预览",
    },
    401: {"description": "缺少或无效的 API 密钥"},
    403: {"description": "密钥角色无权访问"},
    413: {"description": "请求体过大"},
    422: {"description": "数据有误：errors 列出每个字段的路径和中文提示"},
}


def document_response(document: Document, filename: str, cache: str | None = None) -> Response:
    headers = {"X-Page-Count": str(document.page_count)}
    if cache is not None:
        headers["X-Render-Cache"] = cache  # hit: served from the cache of rendered forms
    if document.media_type == "application/pdf":
        headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    return Response(document.content, media_type=document.media_type, headers=headers)


async def _source(request: Request, services: Services, spec: FormSpec) -> FormSource:
    """The form's data as received; parsing and validating it is the worker's job."""
    limits = services.settings.limits
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        if spec.upload is None:
            raise UnsupportedMedia(f"{spec.title}只接受 JSON 请求体")
        upload = await read_upload(request, limits.max_upload_bytes, "请以 file 字段上传 .xlsx 或 .csv 文件")
        meta = upload.fields.get("meta")
        if meta is None:
            raise InvalidInput(
                "缺少 meta 字段", errors=[FieldError("meta", "请以 meta 字段提交其余内容（JSON）", "missing")]
            )
        return FormSource("upload", body=upload.data, filename=upload.filename, meta=meta.encode())
    return FormSource("json", body=await read_body(request, limits.max_body_bytes))


async def _rendered(
    services: Services, workers, spec: FormSpec, source: FormSource, fmt: str, page: int
) -> tuple[Document, str | None]:
    """The document from the cache of rendered forms, else from a worker (and then kept)."""
    cache = services.render_cache
    if cache is None:
        return await workers.run(form_document, spec.slug, source, fmt, page), None
    key = cache.key(spec.slug, source, fmt, page)
    found = cache.get(key)
    if found is not None:
        return found, "hit"
    document = await workers.run(form_document, spec.slug, source, fmt, page)
    cache.put(key, document)
    return document, "miss"


def _render_route(spec: FormSpec):
    async def render(
        request: Request, services: ServicesDep, workers: WorkersDep, format: Format = "pdf", page: Page = 1
    ) -> Response:
        source = await _source(request, services, spec)
        document, cache = await _rendered(services, workers, spec, source, format, page)
        return document_response(document, f"{spec.title}.pdf", cache)

    render.__name__ = f"render_{spec.slug.replace('-', '_')}"
    return render


def _blank_route(spec: FormSpec):
    async def blank(services: ServicesDep, workers: WorkersDep, format: Format = "pdf", page: Page = 1) -> Response:
        document, cache = await _rendered(services, workers, spec, FormSource("blank"), format, page)
        return document_response(document, f"{spec.title}（空白）.pdf", cache)

    blank.__name__ = f"blank_{spec.slug.replace('-', '_')}"
    return blank


def run_response(run: PrintedRun, filename: str) -> FileResponse:
    """The print run streamed from its file, which goes once it is sent (or the client left)."""
    path = Path(run.path)
    return FileResponse(
        path,
        media_type="application/pdf",
        headers={
            "X-Page-Count": str(run.pages),
            "X-Part-Count": str(run.parts),
            "X-Blank-Pages": str(run.blanks),
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}",
        },
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


def _booklet_route(spec: FormSpec):
    async def booklet(request: Request, services: ServicesDep, workers: WorkersDep) -> Response:
        settings = services.settings
        body = await read_body(request, settings.limits.max_booklet_bytes)
        settings.print_runs_dir.mkdir(parents=True, exist_ok=True)
        run = await workers.run(
            booklet_document,
            spec.slug,
            body,
            None,
            str(settings.print_runs_dir),
            timeout=settings.booklet_timeout_seconds,
        )
        return run_response(run, f"{spec.title}（印制批次）.pdf")

    booklet.__name__ = f"booklet_{spec.slug.replace('-', '_')}"
    return booklet


def build_router(forms: dict[str, FormSpec]) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1/forms", tags=["forms"], dependencies=[Depends(require_role("platform", "staff"))]
    )

    @router.get("", summary="可生成的表单及其数据结构")
    def list_forms() -> list[dict]:
        return [
            {
                "form": spec.slug,
                "title": spec.title,
                "description": spec.description,
                "orientation": spec.orientation,
                "blank": spec.blank_context is not None,
                "schema": model_schema(spec.model),
            }
            for spec in forms.values()
        ]

    for spec in forms.values():
        router.add_api_route(
            f"/{spec.slug}",
            _render_route(spec),
            methods=["POST"],
            summary=f"生成{spec.title}",
            description=spec.description,
            response_class=Response,
            responses=PDF_RESPONSES,
            openapi_extra=json_body(spec.model, example_name=spec.slug, upload=spec.upload is not None),
        )

    for spec in forms.values():
        if spec.upload is None:  # forms of one person each: a run of many in one file
            router.add_api_route(
                f"/{spec.slug}/booklet",
                _booklet_route(spec),
                methods=["POST"],
                summary=f"印制批次：多份{spec.title}合为一个 PDF",
                description=(
                    "items 中每份数据同单份表单；每份从新的一页开始（双面打印时从正面开始，"
                    "空白背面注明“此页无正文”），卷首目录给出各份页码与全册页数。可按 sort_by 字段排序。"
                ),
                response_class=Response,
                responses=PDF_RESPONSES,
                openapi_extra={
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": model_schema(BookletRequest)}},
                    }
                },
            )

    for spec in forms.values():
        if spec.blank_context is not None:
            router.add_api_route(
                f"/{spec.slug}/blank",
                _blank_route(spec),
                methods=["GET"],
                summary=f"空白{spec.title}（打印后手工填写）",
                response_class=Response,
                responses=PDF_RESPONSES,
            )

    @router.get("/{form}/blank", include_in_schema=False)
    def unknown_blank(form: str) -> Response:
        blanks = [slug for slug, spec in forms.items() if spec.blank_context is not None]
        raise NotFound(
            f"{form} 没有空白表；有空白表的表单：{'、'.join(blanks)}",
            errors=[FieldError("path.form", f"有空白表的表单：{', '.join(blanks)}", "unknown_form")],
        )

    @router.post("/{form}", include_in_schema=False)
    def unknown_form(form: str) -> Response:
        raise NotFound(
            f"没有名为 {form} 的表单；可用：{'、'.join(forms)}",
            errors=[FieldError("path.form", f"可用的表单：{', '.join(forms)}", "unknown_form")],
        )

    return router
