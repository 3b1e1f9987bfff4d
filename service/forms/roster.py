"""花名册 / 申报人员一览表: a committee's or unit's applicants, one row each."""

from __future__ import annotations

from collections import Counter
from datetime import date

from service.contract.common import YearMonth
from service.contract.declaration import Declaration
from service.contract.tables import Roster, RosterRow
from service.documents.filters import dot_date
from service.documents.tabular import Column, ListLayout, advances_for
from service.forms.review_form import highest_education
from service.forms.spec import FormSpec, RenderContext
from service.profiles.schema import Profile

COLUMNS = (
    Column("seq", "序号", 4),
    Column("name", "姓名", 6),
    Column("gender", "性别", 4),
    Column("birth", "出生年月", 6),
    Column("education", "学历", 6),
    Column("current_title", "现职称", 7),
    Column("current_title_date", "取得时间", 6),
    Column("specialty", "申报专业", 7),
    Column("title", "申报资格", 7),
    Column("route", "申报类型", 5),
    Column("years_in_title", "任职年限", 5),
    Column("paper_count", "论文数", 4),
    Column("annual_reviews", "年度考核", 10),
    Column("unit", "单位", 15),
    Column("remark", "备注", 8),
)
TABLE_WIDTH_MM = 267.0
FONT_SIZE_PT = 8.0
CELL_PADDING_MM = 0.8


def row_from_declaration(d: Declaration, words: Profile) -> RosterRow:
    """What a roster shows of one declaration."""
    title = d.current_titles[0] if d.current_titles else None
    education = highest_education(d)
    approved = title.approved_on if title else None
    recent = sorted(d.annual_reviews, key=lambda r: r.year)[-5:]
    return RosterRow(
        name=d.applicant.name,
        gender=d.applicant.gender,
        birth=YearMonth(d.applicant.birth_date.year, d.applicant.birth_date.month),
        education=education.education_level if education else None,
        current_title=title.title if title else None,
        current_title_date=YearMonth(approved.year, approved.month) if approved else None,
        specialty=d.application.specialty,
        title=d.application.title,
        route=words.word("route", d.application.route),
        years_in_title=max(0, d.plan.year - approved.year) if approved else None,
        paper_count=len(d.papers),
        annual_reviews=summarize_reviews(recent),
        unit=d.application.recommending_unit.name,
    )


def summarize_reviews(reviews) -> str | None:
    """``优秀2 合格3``: the grades of the given years, counted."""
    if not reviews:
        return None
    counts = Counter(r.result for r in reviews)
    return " ".join(f"{grade}{count}" for grade, count in counts.most_common())


def _text(value) -> str:
    if value is None:
        return ""
    return dot_date(value) if hasattr(value, "month") else str(value)


def build_context(roster: Roster, ctx: RenderContext) -> dict:
    # Rows sent as text keep what they say but for 申报类型, printed in the province's words.
    sent = [row.model_copy(update={"route": ctx.profile.printed("route", row.route)}) for row in roster.rows]
    rows = sent + [row_from_declaration(d, ctx.profile) for d in roster.declarations]
    layout = ListLayout(
        COLUMNS, TABLE_WIDTH_MM, FONT_SIZE_PT, CELL_PADDING_MM, advances_for(ctx.main_font), fast=ctx.fast_lists
    )
    keys = [c.key for c in COLUMNS][1:]
    cells = [[str(i)] + [_text(getattr(row, key)) for key in keys] for i, row in enumerate(rows, start=1)]
    routes = Counter(row.route or "未填" for row in rows)
    order = ctx.profile.choices("route")  # the province's words, in its platform's order
    return {
        "d": roster,
        "layout": layout,
        "rows": [layout.row(c) for c in cells],
        "total": len(rows),
        "by_route": sorted(
            routes.items(),
            key=lambda item: order.index(item[0]) if item[0] in order else len(order),
        ),
    }


def roster_date(roster: Roster, ctx: RenderContext) -> date:
    return roster.date


SPEC = FormSpec(
    slug="roster",
    title="申报人员花名册",
    template="forms/roster/form.html",
    model=Roster,
    build_context=build_context,
    document_date=roster_date,
    orientation="landscape",
    description="评委会或单位的申报人员名单，一人一行，A4 横向；rows 为名单行，或 declarations 为完整申报数据",
)
