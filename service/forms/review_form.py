"""专业技术资格评审表: the review form that goes into the personnel archive."""

from __future__ import annotations

import base64
from datetime import date

from service.contract.declaration import Declaration, Education
from service.documents.columns import Fitter
from service.documents.tabular import advances_for
from service.documents.words import segmenter_for
from service.forms.review_tables import review_tables
from service.forms.spec import FormSpec, RenderContext

TITLE = "专业技术资格评审表"


def declaration_date(d: Declaration, ctx: RenderContext) -> date:
    """The day the form is dated: submission, else the configured date, else the plan's year."""
    if d.application.submitted_at is not None:
        return d.application.submitted_at.date()
    if ctx.document_date is not None:
        return ctx.document_date
    return date(d.plan.year, 1, 1)


def fill_date(d: Declaration, ctx: RenderContext) -> date | None:
    if d.application.submitted_at is not None:
        return d.application.submitted_at.date()
    return ctx.document_date


def highest_education(d: Declaration) -> Education | None:
    marked = [e for e in d.education if "最高学历" in e.roles]
    if marked:
        return marked[0]
    # Unmarked: the one that ended last is the highest a clerk would list.
    dated = [e for e in d.education if e.end is not None]
    return max(dated, key=lambda e: e.end) if dated else (d.education[0] if d.education else None)


def photo_data_uri(d: Declaration) -> str | None:
    if d.applicant.photo is None:
        return None
    jpeg = d.applicant.photo.checked.fitted_jpeg
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


def build_context(d: Declaration, ctx: RenderContext) -> dict:
    fit = Fitter(advances_for(ctx.main_font), words=segmenter_for(ctx.profile.terms()))
    return {
        "d": d,
        "form_title": ctx.profile.review_form.title,
        "fill_date": fill_date(d, ctx),
        "highest": highest_education(d),
        "photo_uri": photo_data_uri(d),
        "tables": review_tables(d, fit, ctx.profile),
        "fit": fit,
    }


SPEC = FormSpec(
    slug="review-form",
    title=TITLE,
    template="forms/review-form/form.html",
    model=Declaration,
    build_context=build_context,
    document_date=declaration_date,
    description="专业技术资格评审表（申报表册），A4 纵向，多页，归入人事档案",
)
