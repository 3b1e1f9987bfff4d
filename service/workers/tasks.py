"""What a worker process does. Each task takes the worker's :class:`Services` and plain,
picklable arguments, and returns picklable values; the caller runs it with
``await pool.run("name", ...)``.

Parsing and validating a payload happens here too, not in the service process: a
10,000-row table or a spreadsheet of millions of rows costs this process time, never the
event loop that answers everyone else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import InterfaceError, OperationalError

from service.batches.work import run_items
from service.certificates.document import make_document
from service.contract.parse import parse_json
from service.documents.raster import PageOutOfRange, page_count, render_page_png
from service.documents.render import TooManyPages
from service.errors import (
    DatabaseUnavailable,
    FieldError,
    InvalidInput,
    ServiceError,
    TooLarge,
)
from service.forms.catalog import all_forms
from service.forms.spec import RenderContext, render_blank, render_form
from service.registry.models import Certificate
from service.services import Services
from service.verification.files import check_uploaded_pdf, ensure_seal_summary, public_copy


@dataclass(frozen=True)
class FormSource:
    """Where a form's data comes from: a JSON body, a spreadsheet upload, or nothing (blank)."""

    kind: str  # json | upload | blank
    body: bytes = b""
    filename: str = ""
    meta: bytes = b""


@dataclass(frozen=True)
class Document:
    content: bytes
    media_type: str
    page_count: int


def form_document(services: Services, slug: str, source: FormSource, fmt: str, page: int) -> Document:
    """Validate, render and (for ``fmt == "png"``) rasterise one page of a form."""
    spec = all_forms()[slug]
    settings = services.settings
    ctx = RenderContext(settings.fonts_dir, document_date=settings.document_date)
    if source.kind == "blank":
        pdf = render_blank(services.renderer, spec, ctx)
    else:
        if source.kind == "upload":
            payload = spec.upload(parse_json(source.meta), source.filename, source.body, settings.limits)
        else:
            payload = spec.validate(parse_json(source.body), settings.limits)
        pdf = render_form(services.renderer, spec, payload, ctx)
    count = page_count(pdf)
    if fmt == "png":
        return Document(render_page_png(pdf, page, settings.preview_dpi), "image/png", count)
    return Document(pdf, "application/pdf", count)


def public_copy_of(services: Services, certificate_id: int) -> bytes:
    with services.sessions() as session:
        cert = session.get(Certificate, certificate_id)
        session.expunge(cert)
    return public_copy(services, cert)


def check_stored_seals(services: Services, certificate_id: int) -> None:
    """A certificate's own file validated for its verification page (first view, then daily)."""
    with services.sessions() as session:
        cert = session.get(Certificate, certificate_id)
        session.expunge(cert)
    ensure_seal_summary(services, cert)


def warm_sealing(services: Services) -> int:
    """Load the keys, the TSA and the seal images now, before the first item needs them."""
    return services.sealers.current().warm()


def warm_checking(services: Services) -> int:
    """An upload checker's start: the trust its seal checks need, loaded now."""
    services.sealers.current()
    return 0


TASKS: dict[str, Callable] = {
    "form": form_document,
    "certificate": make_document,
    "public_copy": public_copy_of,
    "batch": run_items,
    "warm_sealing": warm_sealing,
    "upload_check": check_uploaded_pdf,
    "warm_checking": warm_checking,
    "seal_check": check_stored_seals,
}


def translate(exc: Exception) -> ServiceError | None:
    """The pure core's own errors (and a registry out of reach) as answers a caller can act on."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return DatabaseUnavailable("数据库暂时不可用，请稍后重试", headers={"Retry-After": "5"})
    if isinstance(exc, TooManyPages):
        message = (f"文档排版后共 {exc.pages} 页，超过上限 {exc.limit} 页（ZC_LIMIT_MAX_PAGES）："
                   "请拆分后分批提交，或缩短过长的内容")
        return TooLarge(message, errors=[FieldError("(body)", message, "too_many_pages")])
    if isinstance(exc, PageOutOfRange):
        message = f"页码超出范围：文件共 {exc.count} 页"
        return InvalidInput(message, errors=[FieldError("query.page", message, "page_range")])
    return None
