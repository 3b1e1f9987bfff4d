"""``/api/v1/forms``: render a form from a payload, as PDF or as a PNG page preview."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from service.api.deps import ServicesDep, read_body, read_upload, require_role
from service.api.openapi import json_body, model_schema
from service.contract.parse import parse_json
from service.documents.raster import PageOutOfRange, page_count, render_page_png
from service.errors import FieldError, InvalidInput, NotFound, UnsupportedMedia
from service.forms.spec import FormSpec, RenderContext, render_blank, render_form

Format = Annotated[Literal["pdf", "png"], Query(description="pdf：整份文件；png：第 page 页的预览图")]
Page = Annotated[int, Query(ge=1, le=10000, description="预览页码（从 1 开始），仅 format=png 时有效")]

PDF_RESPONSES = {
    200: {
        "content": {"application/pdf": {}, "image/png": {}},
        "description": "PDF/A-3b 文件（附带提交的 JSON），或一页 PNG 预览",
    },
    401: {"description": "缺少或无效的 API 密钥"},
    403: {"description": "密钥角色无权访问"},
    413: {"description": "请求体过大"},
    422: {"description": "数据有误：errors 列出每个字段的路径和中文提示"},
}


def render_context(settings) -> RenderContext:
    return RenderContext(settings.fonts_dir, document_date=settings.document_date)


def document_response(services, pdf: bytes, filename: str, fmt: str, page: int) -> Response:
    if fmt == "png":
        try:
            png = render_page_png(pdf, page, services.settings.preview_dpi)
        except PageOutOfRange as exc:
            message = f"页码超出范围：文件共 {exc.count} 页"
            raise InvalidInput(message, errors=[FieldError("query.page", message, "page_range")]) from None
        return Response(png, media_type="image/png", headers={"X-Page-Count": str(page_count(pdf))})
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}",
            "X-Page-Count": str(page_count(pdf)),
        },
    )


async def _payload(request: Request, services, spec: FormSpec):
    """The validated payload: a JSON body, or for forms that take one, a spreadsheet upload."""
    limits = services.settings.limits
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        if spec.upload is None:
            raise UnsupportedMedia(f"{spec.title}只接受 JSON 请求体")
        return await _upload_payload(request, spec, limits)
    return spec.validate(parse_json(await read_body(request, limits.max_body_bytes)), limits)


async def _upload_payload(request: Request, spec: FormSpec, limits):
    upload = await read_upload(request, limits.max_upload_bytes, "请以 file 字段上传 .xlsx 或 .csv 文件")
    meta = upload.fields.get("meta")
    if meta is None:
        raise InvalidInput("缺少 meta 字段", errors=[FieldError("meta", "请以 meta 字段提交其余内容（JSON）", "missing")])
    return spec.upload(parse_json(meta.encode()), upload.filename, upload.data, limits)


def _render_route(spec: FormSpec):
    async def render(request: Request, services: ServicesDep, format: Format = "pdf", page: Page = 1) -> Response:
        payload = await _payload(request, services, spec)
        ctx = render_context(services.settings)
        pdf = await run_in_threadpool(render_form, services.renderer, spec, payload, ctx)
        return await run_in_threadpool(document_response, services, pdf, f"{spec.title}.pdf", format, page)

    render.__name__ = f"render_{spec.slug.replace('-', '_')}"
    return render


def _blank_route(spec: FormSpec):
    async def blank(services: ServicesDep, format: Format = "pdf", page: Page = 1) -> Response:
        ctx = render_context(services.settings)
        pdf = await run_in_threadpool(render_blank, services.renderer, spec, ctx)
        return await run_in_threadpool(document_response, services, pdf, f"{spec.title}（空白）.pdf", format, page)

    blank.__name__ = f"blank_{spec.slug.replace('-', '_')}"
    return blank


def build_router(forms: dict[str, FormSpec]) -> APIRouter:
    router = APIRouter(prefix="/api/v1/forms", tags=["forms"], dependencies=[Depends(require_role("platform", "staff"))])

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
        raise NotFound(f"{form} 没有空白表；有空白表的表单：{'、'.join(blanks)}",
                       errors=[FieldError("path.form", f"有空白表的表单：{', '.join(blanks)}", "unknown_form")])

    @router.post("/{form}", include_in_schema=False)
    def unknown_form(form: str) -> Response:
        raise NotFound(f"没有名为 {form} 的表单；可用：{'、'.join(forms)}", errors=[FieldError("path.form", f"可用的表单：{', '.join(forms)}", "unknown_form")])

    return router
