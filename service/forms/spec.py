"""What the service needs to know about a form to render it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from pydantic import BaseModel

from service.documents.render import PdfOptions, Renderer, SourceAttachment


BEIJING = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True)
class RenderContext:
    """Settings a form may need while rendering (never the clock)."""

    document_date: date | None = None


@dataclass(frozen=True)
class FormSpec:
    slug: str
    title: str
    template: str
    model: type[BaseModel]
    build_context: Callable[[Any, RenderContext], Mapping]
    document_date: Callable[[Any, RenderContext], date]
    orientation: str = "portrait"
    blank: Callable[[RenderContext], Mapping] | None = None
    description: str = ""


def midnight(day: date) -> datetime:
    """Metadata dates: the document's day at 00:00 Beijing time."""
    return datetime.combine(day, time(0, 0), tzinfo=BEIJING)


def render_form(renderer: Renderer, spec: FormSpec, payload: BaseModel, ctx: RenderContext) -> bytes:
    """Payload → PDF/A-3b bytes, with the payload attached as its machine-readable source."""
    day = spec.document_date(payload, ctx)
    context = dict(spec.build_context(payload, ctx))
    context.setdefault("doc", {"title": spec.title, "created": f"{day.isoformat()}T00:00:00+08:00"})
    source = json.dumps(payload.model_dump(mode="json"), ensure_ascii=False, indent=2, sort_keys=True).encode()
    options = PdfOptions(
        date=midnight(day),
        attachments=(SourceAttachment(name=f"{spec.slug}.json", data=source),),
    )
    return renderer.render_pdf(spec.template, context, options)
