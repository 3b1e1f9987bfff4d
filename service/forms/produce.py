"""A form as the API serves it: validated, rendered and (for a preview) rasterised, in a
worker process. Parsing and validating happens there too, not in the service process: a
10,000-row table or a spreadsheet of millions of rows costs that process time, never the
event loop that answers everyone else."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from service.contract.parse import parse_json
from service.documents.raster import page_count, render_page_png
from service.errors import UnsupportedMedia
from service.forms.booklet import PrintedRun, booklet_request, parse_items, print_run
from service.forms.catalog import all_forms
from service.forms.spec import RenderContext, render_blank, render_form
from service.workers.tasks import worker_task


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


@worker_task("form")
def form_document(services, slug: str, source: FormSource, fmt: str, page: int) -> Document:
    """Validate, render and (for ``fmt == "png"``) rasterise one page of a form."""
    spec = all_forms()[slug]
    settings = services.settings
    ctx = RenderContext(settings.fonts_dir, document_date=settings.document_date, profile=services.profile)
    if source.kind == "blank":
        pdf = render_blank(services.renderer, spec, ctx)
    else:
        if source.kind == "upload":
            if spec.upload is None:  # the API refuses it first (service.api.forms)
                raise UnsupportedMedia(f"{spec.title}只接受 JSON 请求体")
            payload = spec.upload(parse_json(source.meta), source.filename, source.body, settings.limits)
        else:
            payload = spec.validate(parse_json(source.body), settings.limits)
        pdf = render_form(services.renderer, spec, payload, ctx)
    count = page_count(pdf)
    if fmt == "png":
        return Document(render_page_png(pdf, page, settings.preview_dpi), "image/png", count)
    return Document(pdf, "application/pdf", count)


@worker_task("booklet")
def booklet_document(services, slug: str, body: bytes, duplex: bool | None, directory: str) -> PrintedRun:
    """Validate every payload of a print run, render each and copy it into one file in
    ``directory`` (the run may be far larger than a worker should send back through its pipe)."""
    spec = all_forms()[slug]
    settings = services.settings
    request = booklet_request(parse_json(body), settings.limits)
    models = parse_items(spec, request, settings.limits)
    chosen = request.duplex if request.duplex is not None else duplex
    ctx = RenderContext(
        settings.fonts_dir, document_date=settings.document_date, profile=services.profile, duplex=chosen
    )
    day = spec.document_date(models[0], ctx)
    target = Path(directory) / f"booklet-{secrets.token_hex(8)}.pdf"
    try:
        run = print_run(
            services.renderer, spec, models, ctx, target, day=day, manifest=request.manifest, title=request.title
        )
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return run.printed()
