"""The auxiliary forms, each filled from the declaration payload and each printable blank.

单位审核意见表, 年度及任职期满考核表, 破格申报审批表, 转评申报表, 附件一览表 and
个人诚信承诺书 (DOMAIN.md, "Auxiliary forms"). A form's context is built
here, so that its template only places values; the blank form gets the same
context built from ``BLANK``, with every value unset and every list empty
(the template then prints empty boxes, ruled rows and 年 月 日).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from service.config import Limits
from service.contract.common import ROUTES, word_of
from service.contract.declaration import (
    ASSESSMENT_GRADES,
    CHECK_ITEMS,
    Attachment,
    Declaration,
    check_results_of,
)
from service.contract.parse import validate_payload
from service.documents.columns import Fitter
from service.documents.tabular import advances_for
from service.documents.words import segmenter_for
from service.errors import FieldError, InvalidInput
from service.forms.blank import BLANK
from service.forms.review_form import declaration_date, fill_date, highest_education
from service.forms.spec import FormSpec, RenderContext

# What each checklist line asks the unit to verify (printed under the item).
CHECK_HINTS = {
    "材料真实性": "申报材料与证书原件一致",
    "学历": "学历、学位符合申报条件",
    "资历": "任职年限、专业工作年限",
    "业绩": "业绩成果符合评审条件",
    "考核": "任职期间年度考核结果",
    "继续教育": "继续教育学时达到要求",
}

BLANK_EVIDENCE_ROWS = 4
BLANK_ATTACHMENT_ROWS = 18


def _fitter(ctx: RenderContext) -> Fitter:
    """Sets a name a step smaller rather than break it (auxiliary.css: cells padded 1.6 mm)."""
    return Fitter(advances_for(ctx.main_font), padding_mm=1.6, words=segmenter_for(ctx.profile.terms()))


def applicant_context(d: Declaration, ctx: RenderContext) -> dict:
    """What every auxiliary form prints of the applicant."""
    return {
        "d": d,
        "title0": d.current_titles[0] if d.current_titles else None,
        "highest": highest_education(d),
        "fill_date": fill_date(d, ctx),
        "fit": _fitter(ctx),
    }


def blank_applicant_context(ctx: RenderContext) -> dict:
    return {"d": BLANK, "title0": None, "highest": None, "fill_date": None, "fit": _fitter(ctx)}


# --- 单位审核意见表 ------------------------------------------------------------


@dataclass(frozen=True)
class CheckLine:
    number: int
    item: str
    hint: str
    options: tuple[str, str]
    result: str | None = None
    note: str | None = None


def check_lines(d: Declaration | None) -> list[CheckLine]:
    """The six checklist lines in the form's order; those the payload leaves out print empty boxes."""
    given = {c.item: c for c in d.unit_review.checks} if d is not None and d.unit_review else {}
    lines = []
    for number, item in enumerate(CHECK_ITEMS, start=1):
        check = given.get(item)
        lines.append(
            CheckLine(
                number,
                item,
                CHECK_HINTS[item],
                check_results_of(item),
                check.result if check else None,
                check.note if check else None,
            )
        )
    return lines


def unit_opinion(d: Declaration):
    """The unit's own opinion; a platform that only sends the recommending one gets that."""
    return d.opinions.unit or d.opinions.recommending


def unit_review_context(d: Declaration, ctx: RenderContext) -> dict:
    return {**applicant_context(d, ctx), "checks": check_lines(d), "opinion": unit_opinion(d), "review": d.unit_review}


def unit_review_blank(ctx: RenderContext) -> dict:
    return {**blank_applicant_context(ctx), "checks": check_lines(None), "opinion": None, "review": None}


# --- 年度及任职期满考核表 --------------------------------------------------------


def current_appointment(d: Declaration):
    """The appointment the term is served in: the latest of the current titles'."""
    appointments = [ap for t in d.current_titles for ap in t.appointments]
    dated = [ap for ap in appointments if ap.start is not None]
    if dated:
        return max(dated, key=lambda ap: (ap.start.year, ap.start.month, ap.start.day or 0))
    return appointments[0] if appointments else None


def term_reviews(d: Declaration, start, end) -> list:
    """The annual reviews of the term (all of them when the term is not given), oldest first."""
    first = start.year if start is not None else 0
    last = end.year if end is not None else 9999
    return sorted((r for r in d.annual_reviews if first <= r.year <= last), key=lambda r: r.year)


def assessment_context(d: Declaration, ctx: RenderContext) -> dict:
    a = d.assessment
    appointment = current_appointment(d)
    term_start = a.term_start if a else None
    term_end = a.term_end if a else None
    # 考核期 and 任职期: the assessment's own, else the term of the current appointment
    # (an appointment still running is served 至今).
    derived = term_start is None and term_end is None and appointment is not None and appointment.start is not None
    if derived:
        term_start, term_end = appointment.start, appointment.end
    return {
        **applicant_context(d, ctx),
        "a": a,
        "post": (a.post if a and a.post else None) or (appointment.post if appointment else None),
        "term_start": term_start,
        "term_end": term_end,
        "term_open_end": "至今" if derived else "",
        "reviews": term_reviews(d, term_start, term_end),
        # The self-assessment falls back to the declaration's work summary, and the
        # achievements to its list of achievements: the same facts, as declared.
        "summary": (a.self_summary if a and a.self_summary else None) or d.work_summary,
        "achievements_text": a.achievements if a and a.achievements else None,
        "achievements": [] if a and a.achievements else list(d.achievements),
        "tallies": _tallies(a),
        "grade_options": ASSESSMENT_GRADES,
        "grade": a.grade if a else None,
    }


def _tallies(a) -> list[tuple[str, int | None]]:
    keys = (
        ("实有人数", "staff_total"),
        ("参加人数", "participants"),
        ("优秀", "excellent"),
        ("合格", "competent"),
        ("基本合格", "basically_competent"),
        ("不合格", "incompetent"),
    )
    return [(label, getattr(a, key) if a else None) for label, key in keys]


def assessment_blank(ctx: RenderContext) -> dict:
    return {
        **blank_applicant_context(ctx),
        "a": None,
        "post": None,
        "term_start": None,
        "term_end": None,
        "term_open_end": "",
        "reviews": [],
        "summary": None,
        "achievements_text": None,
        "achievements": [],
        "tallies": _tallies(None),
        "grade_options": ASSESSMENT_GRADES,
        "grade": None,
    }


# --- 破格申报审批表, 转评申报表 ----------------------------------------------------


def _route_error(route: str, form: str, wanted: str, limits: Limits) -> InvalidInput:
    route, wanted = word_of(limits, "route", ROUTES, route), word_of(limits, "route", ROUTES, wanted)
    message = (
        f"{form}只用于申报类型为“{wanted}”的申报，本申报的申报类型为“{route}”："
        f"请核对申报类型（application.route），{wanted}申报请改为“{wanted}”"
    )
    return InvalidInput(
        "提交的数据有 1 处错误，请按提示修改", errors=[FieldError("application.route", message, "route_mismatch")]
    )


def _missing(path: str, message: str) -> InvalidInput:
    return InvalidInput("提交的数据有 1 处错误，请按提示修改", errors=[FieldError(path, message, "missing")])


def _route_form_parser(route: str, form: str, section: str | None = None, missing_message: str = ""):
    """A parser for a form that only exists for one route (破格, 转评), and, when
    ``section`` is given, cannot be printed without that route's section."""

    def parse(data: Any, limits: Limits) -> Declaration:
        d = validate_payload(Declaration, data, limits)
        if d.application.route != route:
            raise _route_error(d.application.route, form, route, limits)
        if section is not None and getattr(d.application, section) is None:
            raise _missing(f"application.{section}", missing_message)
        return d

    return parse


# A 破格 declaration without its basis still gets its approval form: the basis is
# then written in by hand, as on the blank form (the unit often settles it on paper).
parse_exception_declaration = _route_form_parser("破格", "破格申报审批表")
parse_transfer_declaration = _route_form_parser(
    "转评",
    "转评申报表",
    "transfer",
    "转评申报须填写转评情况：原系列（original_series）、原资格名称（original_title），以及取得时间、发证机关、现岗位和转评理由",
)


def exception_context(d: Declaration, ctx: RenderContext) -> dict:
    basis = d.application.exception
    evidence = list(basis.evidence) if basis is not None else [None] * BLANK_EVIDENCE_ROWS
    return {**applicant_context(d, ctx), "basis": basis, "evidence": evidence, "o": d.opinions}


def exception_blank(ctx: RenderContext) -> dict:
    return {**blank_applicant_context(ctx), "basis": None, "evidence": [None] * BLANK_EVIDENCE_ROWS, "o": BLANK}


def transfer_context(d: Declaration, ctx: RenderContext) -> dict:
    return {**applicant_context(d, ctx), "tr": d.application.transfer, "o": d.opinions}


def transfer_blank(ctx: RenderContext) -> dict:
    return {**blank_applicant_context(ctx), "tr": BLANK, "o": BLANK}


# --- 附件一览表 -----------------------------------------------------------------


@dataclass(frozen=True)
class SizeUnit:
    """How one list prints its sizes: every size in one unit, rounded to ``places``
    decimals, so that a category's size and the total are the sums of what is printed
    (sums of exact sizes, each rounded, differ from them: 609.3 KB against items adding
    up to 609.2 KB)."""

    label: str
    divisor: int
    places: int

    def units(self, size: int) -> int:
        """``size`` bytes in the unit's smallest printed step (0.1 KB), half up; a file
        that is not empty is never printed as nothing."""
        exact = Decimal(size) * 10**self.places / self.divisor
        rounded = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return max(rounded, 1) if size > 0 else 0

    def text(self, units: int | None) -> str:
        if units is None:
            return ""
        return f"{Decimal(units).scaleb(-self.places):.{self.places}f} {self.label}"


KB = SizeUnit("KB", 1024, 1)
MB = SizeUnit("MB", 1024 * 1024, 2)


def size_unit(attachments) -> SizeUnit:
    """KB, as the platforms list uploads; MB when a file reaches 10 MB."""
    sizes = [a.size_bytes for a in attachments if a.size_bytes is not None]
    return MB if sizes and max(sizes) >= 10 * 1024 * 1024 else KB


@dataclass(frozen=True)
class AttachmentGroup:
    number: int
    category: str
    files: tuple[Attachment, ...]
    unit: SizeUnit = KB

    def file_units(self, item: Attachment) -> int | None:
        return None if item.size_bytes is None else self.unit.units(item.size_bytes)

    @property
    def units(self) -> int | None:
        """The sum of the sizes printed for its files (None when one is unknown)."""
        found = [self.file_units(f) for f in self.files]
        return None if None in found else sum(u for u in found if u is not None)

    def file_size(self, item: Attachment) -> str:
        return self.unit.text(self.file_units(item))

    @property
    def size(self) -> str:
        return self.unit.text(self.units)


def attachment_groups(attachments) -> list[AttachmentGroup]:
    """The attachments by category, categories in the order the payload first names them."""
    by_category: dict[str, list[Attachment]] = {}
    for item in attachments:
        by_category.setdefault(item.category, []).append(item)
    unit = size_unit(attachments)
    return [
        AttachmentGroup(n, category, tuple(files), unit)
        for n, (category, files) in enumerate(by_category.items(), start=1)
    ]


def attachment_context(d: Declaration, ctx: RenderContext) -> dict:
    groups = attachment_groups(d.attachments)
    units = [g.units for g in groups]
    # A total only when every size is known: a partial sum would understate it.
    total = sum(u for u in units if u is not None) if units and None not in units else None
    return {
        **applicant_context(d, ctx),
        "groups": groups,
        "file_count": len(d.attachments),
        "total_size": groups[0].unit.text(total) if groups else "",
        "blank_rows": 0,
    }


def attachment_blank(ctx: RenderContext) -> dict:
    return {
        **blank_applicant_context(ctx),
        "groups": [],
        "file_count": None,
        "total_size": "",
        "blank_rows": BLANK_ATTACHMENT_ROWS,
    }


# --- 个人诚信承诺书 --------------------------------------------------------------


# Each province's own pledge (its profile: title, text, how it is signed), word for word.


def pledge_context(d: Declaration, ctx: RenderContext) -> dict:
    return {**applicant_context(d, ctx), "pledge": ctx.profile.pledge}


def pledge_blank(ctx: RenderContext) -> dict:
    return {**blank_applicant_context(ctx), "pledge": ctx.profile.pledge}


# --- the specs ----------------------------------------------------------------


def _spec(slug: str, title: str, build: Callable, blank: Callable, description: str, **extra) -> FormSpec:
    return FormSpec(
        slug=slug,
        title=title,
        template=f"forms/{slug}/form.html",
        model=Declaration,
        build_context=build,
        document_date=declaration_date,
        description=description,
        blank_context=blank,
        **extra,
    )


SPECS = [
    _spec(
        "unit-review",
        "单位审核意见表",
        unit_review_context,
        unit_review_blank,
        "单位审核意见表（推荐意见表）：审核项目、公示情况、单位意见，A4 纵向；可下载空白表手工填写",
        blank_fill=(("opinion", 1.0),),
    ),
    _spec(
        "assessment",
        "专业技术人员年度及任职期满考核表",
        assessment_context,
        assessment_blank,
        "年度及任职期满考核表：任职期、个人总结、民主测评、基层与单位意见，A4 纵向；有空白表",
        blank_fill=(("summary", 2.0), ("achievements", 1.0)),
    ),
    _spec(
        "exception-approval",
        "破格申报审批表",
        exception_context,
        exception_blank,
        "破格申报审批表：申报类型须为“破格”；未填 application.exception 时破格依据留空手填，A4 纵向；有空白表",
        parse=parse_exception_declaration,
        blank_fill=(("reason", 1.0),),
    ),
    _spec(
        "transfer",
        "转评申报表",
        transfer_context,
        transfer_blank,
        "转评申报表：申报类型须为“转评”且填写 application.transfer，A4 纵向；有空白表",
        parse=parse_transfer_declaration,
        blank_fill=(("reason", 1.0),),
    ),
    _spec(
        "attachment-list",
        "附件一览表",
        attachment_context,
        attachment_blank,
        "附件一览表：按类别列出上传的附件及其大小与合计，A4 纵向；有空白表",
    ),
    _spec(
        "integrity-pledge",
        "个人诚信承诺书",
        pledge_context,
        pledge_blank,
        "个人诚信承诺书：承诺内容、申报人信息和签名栏，A4 纵向；有空白表",
        title_of=lambda ctx: ctx.profile.pledge.title,
    ),
]
