"""What the service needs to know about a form to render it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from service.config import Limits
from service.contract.parse import validate_payload
from service.documents.fonts import MAIN_FACE
from service.documents.render import PdfOptions, Renderer, SourceAttachment
from service.profiles.load import default_profile
from service.profiles.schema import Profile

BEIJING = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True)
class RenderContext:
    """Settings a form may need while rendering (never the clock)."""

    # The shipped fonts (Settings.fonts_dir), for forms that measure text themselves.
    fonts_dir: Path
    document_date: date | None = None
    # Long lists as one line per row (service.documents.tabular); off only
    # for the benchmark's baseline.
    fast_lists: bool = True
    # The province's words, boxes and paper (Services.profile; Hubei's when none is given).
    profile: Profile = field(default_factory=default_profile)
    # Printed on both sides: sections the form starts on a recto get one, blank versos say so.
    # None: the profile's default.
    duplex: bool | None = None

    @property
    def printed_duplex(self) -> bool:
        return self.profile.printing.duplex if self.duplex is None else self.duplex

    @property
    def main_font(self) -> Path:
        return self.fonts_dir / MAIN_FACE


@dataclass(frozen=True)
class FormSpec:
    slug: str
    title: str
    template: str
    model: Any  # a pydantic model, or a union of models (documented by its JSON schema)
    build_context: Callable[[Any, RenderContext], Mapping]
    document_date: Callable[[Any, RenderContext], date]
    orientation: str = "portrait"
    description: str = ""
    # The context of the printable blank form, or None when the form has no blank.
    blank_context: Callable[[RenderContext], Mapping] | None = None
    # Payload → model, when a plain ``model.model_validate`` is not enough.
    parse: Callable[[Any, Limits], Any] | None = None
    # (meta JSON, file name, file bytes, limits) → model, for forms that take a spreadsheet.
    upload: Callable[[Any, str, bytes, Limits], Any] | None = None
    # Model → PDF, when one layout pass is not enough (fit-to-one-page).
    render: Callable[[Renderer, FormSpec, Any, RenderContext], bytes] | None = None
    sample: str = "sample.json"
    # The blank's writing boxes that share the room its page leaves, each with its share
    # (the template reads ``fill[box]``: mm to add); none: the blank as laid out.
    blank_fill: tuple[tuple[str, float], ...] = ()
    # The title as the province prints it (its metadata /Title too), when it is not ``title``.
    title_of: Callable[[RenderContext], str] | None = None

    def printed_title(self, ctx: RenderContext) -> str:
        return self.title_of(ctx) if self.title_of is not None else self.title

    def validate(self, data: Any, limits: Limits) -> Any:
        if self.parse is not None:
            return self.parse(data, limits)
        return validate_payload(self.model, data, limits)


def midnight(day: date) -> datetime:
    """Metadata dates: the document's day at 00:00 Beijing time."""
    return datetime.combine(day, time(0, 0), tzinfo=BEIJING)


def pdf_options(spec: FormSpec, payload: BaseModel | None, day: date) -> PdfOptions:
    """PDF/A-3b with the payload attached as its machine-readable source (none for a blank)."""
    if payload is None:
        return PdfOptions(date=midnight(day))
    source = json.dumps(payload.model_dump(mode="json"), ensure_ascii=False, indent=2, sort_keys=True).encode()
    return PdfOptions(date=midnight(day), attachments=(SourceAttachment(name=f"{spec.slug}.json", data=source),))


def document_info(spec: FormSpec, day: date, ctx: RenderContext) -> dict:
    return {"title": spec.printed_title(ctx), "created": f"{day.isoformat()}T00:00:00+08:00"}


def province_context(ctx: RenderContext, orientation: str = "portrait") -> dict:
    """What every template may read of the province: its words (``profile.word``) and its
    paper (_layout.html prints the page size and, for portrait forms, the margins)."""
    paper, printing = ctx.profile.paper, ctx.profile.printing
    return {
        "profile": ctx.profile,
        "paper": {
            "size": f"{paper.size} {orientation}",
            "margin": " ".join(f"{m:g}mm" for m in paper.margins_mm) if orientation == "portrait" else None,
            "duplex": ctx.printed_duplex,
            "blank_text": printing.blank_text,
            "number_cover": printing.number_cover,
        },
    }


def render_form(renderer: Renderer, spec: FormSpec, payload: BaseModel, ctx: RenderContext) -> bytes:
    """Payload → PDF/A-3b bytes."""
    if spec.render is not None:
        return spec.render(renderer, spec, payload, ctx)
    day = spec.document_date(payload, ctx)
    context = dict(spec.build_context(payload, ctx))
    context.setdefault("doc", document_info(spec, day, ctx))
    context.setdefault("blank", False)
    context.setdefault("fill", {})
    context.update(province_context(ctx, spec.orientation))
    return renderer.render_pdf(spec.template, context, pdf_options(spec, payload, day))


def render_blank(renderer: Renderer, spec: FormSpec, ctx: RenderContext) -> bytes:
    """The printable empty form, to be filled in by hand."""
    if spec.blank_context is None:
        raise ValueError(f"{spec.slug} has no blank form")
    day = ctx.document_date or date(2000, 1, 1)
    context = dict(spec.blank_context(ctx))
    context.setdefault("doc", {"title": spec.printed_title(ctx), "created": None})
    context["blank"] = True
    context.update(province_context(ctx, spec.orientation))
    options = pdf_options(spec, None, day)
    if not spec.blank_fill:
        return renderer.render_pdf(spec.template, {**context, "fill": {}}, options)
    total = sum(share for _, share in spec.blank_fill)

    def filled(room_mm: float) -> dict:
        return {**context, "fill": {box: room_mm * share / total for box, share in spec.blank_fill}}

    return renderer.render_filling(spec.template, filled, options)
