"""A print run: many payloads of one form as one PDF (a committee's summary sheets for its
meeting, every applicant's review form for the archive), or the certificates of a batch
job for stamping by hand.

Each part is rendered exactly as it would be alone (same bytes, same page numbers: 第 n
页 共 m 页 per applicant) and copied into the run (``service.documents.assemble``); a
manifest in front gives the run's total and where each part starts. Printed duplex, a part
of an odd number of pages is followed by a verso that says it is blank (the profile's
「此页无正文」), so every applicant starts on a new sheet.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field

from service.config import Limits
from service.contract.parse import validate_payload
from service.documents.assemble import Assembled, Part, Placed, assemble
from service.documents.render import PdfOptions, Renderer
from service.documents.tabular import Column, ListLayout, advances_for
from service.errors import FieldError, InvalidInput
from service.forms.spec import FormSpec, RenderContext, midnight, province_context, render_form

MAX_PARTS = 2000
MANIFEST_WIDTH_MM = 167.0  # A4 portrait less the margins of common.css
MAX_ERRORS = 50
BOOKLET_STYLE = "forms/booklet"


def _manifest_columns(part_label: str) -> tuple[Column, ...]:
    return (
        Column("seq", "序号", 10),
        Column("title", part_label, 50),
        Column("pages", "页码", 24),
        Column("count", "页数", 16),
    )


class BookletRequest(BaseModel):
    """The payloads of one form, printed as one file."""

    items: Annotated[list[Any], Field(min_length=1, max_length=MAX_PARTS, description="每份的数据，结构同单份表单")]
    sort_by: str | None = Field(
        None, max_length=100, description="按此字段排序（如 applicant.name、application.specialty）；不填：按提交顺序"
    )
    duplex: bool | None = Field(None, description="双面打印：每份从正面开始，空白背面注明“此页无正文”；不填：本省默认")
    manifest: bool = Field(True, description="卷首目录：各份的起止页码与全册页数")
    title: str | None = Field(None, max_length=60, description="目录标题；不填：表单名称")


@dataclass(frozen=True)
class PrintedRun:
    """A print run written to a file the caller streams and then removes (plain data: it
    comes back from a worker process)."""

    path: str
    pages: int
    parts: int
    blanks: int


@dataclass(frozen=True)
class Run:
    """A print run written to ``path``: what it holds."""

    path: Path
    assembled: Assembled

    def printed(self) -> PrintedRun:
        done = self.assembled
        return PrintedRun(str(self.path), done.pages, len(done.parts), done.blanks)


def parse_items(spec: FormSpec, request: BookletRequest, limits: Limits) -> list[Any]:
    """Every item validated as the form validates it alone; the errors of all items are
    reported together (the first MAX_ERRORS), each under ``items[i]``."""
    models: list[Any] = []
    errors: list[FieldError] = []
    for index, item in enumerate(request.items):
        try:
            models.append(spec.validate(item, limits))
        except InvalidInput as exc:
            errors.extend(FieldError(f"items[{index}].{e.path}", e.message, e.type) for e in exc.errors)
            if len(errors) >= MAX_ERRORS:
                break
    if errors:
        raise InvalidInput(f"印制批次中有 {len(errors)} 处错误，请按提示修改", errors=errors[:MAX_ERRORS])
    if request.sort_by:
        models = sort_models(models, request.sort_by)
    return models


def sort_models(models: list[Any], field: str) -> list[Any]:
    getter = operator.attrgetter(field)
    try:
        keys = [getter(m) for m in models]
    except AttributeError:
        message = f"无法按“{field}”排序：每份数据中都应有此字段（如 applicant.name）"
        raise InvalidInput(message, errors=[FieldError("sort_by", message, "unknown_field")]) from None
    # Empty values last; the rest in order, a stable sort keeping the given order for ties.
    order = sorted(range(len(models)), key=lambda i: (keys[i] is None, str(keys[i]) if keys[i] is not None else ""))
    return [models[i] for i in order]


def part_title(model: Any, index: int) -> str:
    """What the manifest calls a part: the applicant's name where the form has one."""
    for path in ("applicant.name", "holder.name", "title", "publisher"):
        try:
            value = operator.attrgetter(path)(model)
        except AttributeError:
            continue
        if value:
            return str(value)
    return f"第 {index + 1} 份"


def print_run(
    renderer: Renderer,
    spec: FormSpec,
    models: list[Any],
    ctx: RenderContext,
    target: Path,
    *,
    day: date,
    manifest: bool = True,
    title: str | None = None,
) -> Run:
    """The parts rendered one by one, copied into ``target`` as they come."""

    def parts() -> Iterator[Part]:
        for index, model in enumerate(models):
            yield Part(part_title(model, index), render_form(renderer, spec, model, ctx))

    return write_run(
        renderer,
        parts(),
        ctx,
        target,
        orientation=spec.orientation,
        day=day,
        manifest=manifest,
        title=title or f"{spec.title}（印制批次）",
    )


def write_run(
    renderer: Renderer,
    parts: Iterator[Part],
    ctx: RenderContext,
    target: Path,
    *,
    orientation: str,
    day: date,
    manifest: bool,
    title: str,
    part_label: str = "姓名",
) -> Run:
    """Any parts (forms, certificates) as one run, with its blank versos (on the parts'
    ``orientation``: the same sheet) and manifest."""
    duplex = ctx.printed_duplex
    front: Callable[[list[Placed], int, int], bytes] | None = None
    if manifest:
        front = _manifest(renderer, ctx, day, title, part_label, duplex)
    assembled = assemble(
        parts,
        target,
        day=day,
        duplex=duplex,
        blank_page=blank_verso(renderer, ctx, orientation, day) if duplex else None,
        front=front,
    )
    return Run(target, assembled)


def _page_context(ctx: RenderContext, orientation: str) -> dict:
    """The province's paper for the run's own pages (its manifest, its blank versos),
    without the duplex rules of a form: they have no cover and no sections to place."""
    context = province_context(ctx, orientation)
    context["paper"] = {**context["paper"], "duplex": False}
    return context


def blank_verso(renderer: Renderer, ctx: RenderContext, orientation: str, day: date) -> bytes:
    context = {
        **_page_context(ctx, orientation),
        "doc": {"title": ctx.profile.printing.blank_text, "created": None},
        "blank_text": ctx.profile.printing.blank_text,
    }
    return renderer.render_pdf(f"{BOOKLET_STYLE}/blank.html", context, PdfOptions(date=midnight(day)))


def _manifest(
    renderer: Renderer,
    ctx: RenderContext,
    day: date,
    title: str,
    part_label: str,
    duplex: bool,
) -> Callable[[list[Placed], int, int], bytes]:
    # One tabbed line per row (service.documents.tabular): a manifest of 2,000 certificates
    # is rendered in a few seconds, where a cell per column took a minute.
    layout = ListLayout(
        _manifest_columns(part_label), MANIFEST_WIDTH_MM, 10.0, 1.4, advances_for(ctx.main_font), fast=ctx.fast_lists
    )

    def row(index: int, p: Placed) -> list[str]:
        pages = f"{p.first_page}–{p.first_page + p.pages - 1}" if p.pages > 1 else str(p.first_page)
        return [str(index), p.title, pages, str(p.pages)]

    def render(placed: list[Placed], total: int, blanks: int) -> bytes:
        context = {
            "layout": layout,
            "rows": [layout.row(row(i, p)) for i, p in enumerate(placed, start=1)],
            **_page_context(ctx, "portrait"),  # the manifest's list is laid out for portrait A4
            "doc": {"title": title, "created": f"{day.isoformat()}T00:00:00+08:00"},
            "title": title,
            "parts": placed,
            "total": total,
            "blanks": blanks,
            "blank_text": ctx.profile.printing.blank_text,
            "duplex": duplex,
            "part_label": part_label,
        }
        return renderer.render_pdf(f"{BOOKLET_STYLE}/manifest.html", context, PdfOptions(date=midnight(day)))

    return render


def booklet_request(data: Any, limits: Limits) -> BookletRequest:
    return validate_payload(BookletRequest, data, limits)
