"""一览表预览 (综合情况表): one applicant's key data on exactly one landscape page.

Lists that do not fit are cut to their first items with "等 N 项"; each
step below shows less, and the first that lays out on one page is printed.
What a step shows is in its context (``shown``), so that a test can check
that every promised string is on the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.contract.declaration import Declaration
from service.documents.filters import cut, dot_date
from service.forms.review_form import declaration_date, highest_education
from service.forms.spec import FormSpec, RenderContext, document_info, pdf_options, province_context


@dataclass(frozen=True)
class Caps:
    items: int  # items shown per list
    chars: int  # longest text shown per item or field
    tight: bool = False  # smaller type and spacing


STEPS = (Caps(5, 200), Caps(4, 120), Caps(3, 80), Caps(2, 60), Caps(1, 40), Caps(1, 30, True), Caps(0, 24, True))


@dataclass(frozen=True)
class Shown:
    title: str
    total: int
    items: tuple[str, ...]

    @property
    def more(self) -> int:
        return self.total - len(self.items)


def ranked(rank: str | None) -> str:
    """A rank as a line of the sheet prints it: 「排名 1/6」 (a bare 1/6 says nothing of what it counts)."""
    if not rank or not rank.strip():
        return ""
    rank = rank.strip()
    return rank if "排名" in rank or "第" in rank else f"排名 {rank}"


def _lists(d: Declaration, caps: Caps) -> list[Shown]:
    def shown(title, items):
        items = list(items)
        return Shown(title, len(items), tuple(cut(i, caps.chars) for i in items[: caps.items]))

    return [
        shown(
            "论文",
            (f"《{p.title}》{p.journal or ''} {dot_date(p.published)} {ranked(p.rank)}".strip() for p in d.papers),
        ),
        shown(
            "著作",
            (f"《{b.title}》{b.publisher or ''} {dot_date(b.published)} {b.role or ''}".strip() for b in d.books),
        ),
        shown(
            "专利",
            (f"{p.title}（{p.kind}{'，' + p.status if p.status else ''}）{p.number or ''}".strip() for p in d.patents),
        ),
        shown(
            "获奖",
            (
                f"{a.name}{a.grade or ''}　{a.issuer or ''} {dot_date(a.date)} {ranked(a.rank)}".strip()
                for a in d.awards
            ),
        ),
        shown(
            "主要业绩",
            (f"{x.name}：{x.content_and_role or ''}{'；' + x.outcome if x.outcome else ''}" for x in d.achievements),
        ),
    ]


def build_context(d: Declaration, ctx: RenderContext, caps: Caps = STEPS[0]) -> dict:
    title = d.current_titles[0] if d.current_titles else None
    reviews = sorted(d.annual_reviews, key=lambda r: r.year)[-5:]
    return {
        "d": d,
        "c": caps.chars,
        "tight": caps.tight,
        "title0": title,
        "highest": highest_education(d),
        "reviews": reviews,
        "lists": _lists(d, caps),
        "years_in_title": max(0, d.plan.year - title.approved_on.year) if title and title.approved_on else None,
    }


def step_contexts(spec: FormSpec, d: Declaration, ctx: RenderContext) -> list[dict]:
    """One context per step, each showing less than the one before."""
    day = declaration_date(d, ctx)
    province = province_context(ctx, spec.orientation)
    return [
        {**build_context(d, ctx, caps), "doc": document_info(spec, day, ctx), "blank": False, **province}
        for caps in STEPS
    ]


def render_summary_step(renderer, spec: FormSpec, d: Declaration, ctx: RenderContext) -> tuple[bytes, dict]:
    """The PDF and the context it was rendered from (what it shows)."""
    contexts = step_contexts(spec, d, ctx)
    pdf, index = renderer.render_fitting(spec.template, contexts, 1, pdf_options(spec, d, declaration_date(d, ctx)))
    return pdf, contexts[index]


def render_summary(renderer, spec: FormSpec, d: Declaration, ctx: RenderContext) -> bytes:
    return render_summary_step(renderer, spec, d, ctx)[0]


SPEC = FormSpec(
    slug="summary-sheet",
    title="专业技术资格申报人员综合情况一览表",
    template="forms/summary-sheet/form.html",
    model=Declaration,
    build_context=build_context,
    document_date=declaration_date,
    orientation="landscape",
    description="一览表预览：一名申报人的关键信息，A4 横向，恰好一页；列表过长时显示前几项并注明“等 N 项”",
    render=render_summary,
)
