"""准考证: the applicant's ticket for the committee's interview (面试) or written test (笔试).

Filled from its own payload (``service.contract.admission_ticket``), with the
holder's photo fitted as on the certificate; printable blank. The manuals only
name the button 「打印准考证」: the title, the fields and the notices are inferred
from the tickets such examinations issue.
"""

from __future__ import annotations

import base64
from datetime import date, datetime

from service.contract.admission_ticket import EXAM_KINDS, AdmissionTicket
from service.documents.columns import Fitter
from service.documents.filters import cn_date
from service.documents.tabular import advances_for
from service.documents.words import segmenter_for
from service.forms.blank import BLANK
from service.forms.spec import FormSpec, RenderContext

TITLE = "准考证"

# 考生须知 printed when the payload sends none. Inferred: the rules every such ticket
# states (identity papers, arrival, devices, discipline), one of them the kind's own.
# Misconduct is left to 有关规定: which rules apply is the committee's to say (notices).
_NOTICES_BEFORE = (
    "考生须凭本准考证和有效身份证件（与报名时所用证件一致）参加考试，证件不全者不得入场。",
    "考生应于考试开始前30分钟到达考点，按工作人员指引入场、候考；考试开始15分钟后不得入场。",
    "严禁携带手机、智能手表等通讯及电子设备进入考场，已携带的须关机并交由工作人员统一保管。",
)
_NOTICES_OF_KIND = {
    "面试": "面试时不得以任何方式向评委透露本人姓名、工作单位等个人信息。",
    "笔试": "笔试须使用黑色墨水笔在答题卡（纸）指定位置作答，在其他位置作答无效。",
}
_NOTICES_AFTER = (
    "考生须服从考务工作人员的管理，遵守考场纪律；违反考试纪律的，按有关规定处理。",
    "本准考证须妥善保管，不得涂改、转借；考试时间、地点如有变动，以评委会组建单位的通知为准。",
)


def default_notices(kind: str | None) -> list[str]:
    """The form's notices for an exam of ``kind`` (both kinds' for the blank ticket)."""
    own = [_NOTICES_OF_KIND[kind]] if kind is not None else list(_NOTICES_OF_KIND.values())
    return [*_NOTICES_BEFORE, *own, *_NOTICES_AFTER]


def title_lines(t: AdmissionTicket) -> tuple[str, str]:
    """The ticket's title in two lines: whose exam (year, plan or committee), and which ticket.

    Read together they are 「<年度>年度<计划名称或评委会>面试准考证」; without a plan or a
    committee, 「职称评审面试准考证」."""
    year = f"{t.year}年度" if t.year is not None else ""
    if t.plan_name:
        # A plan's name usually begins with its year (2024年度安徽省...): not twice.
        owner = t.plan_name if not year or t.plan_name.startswith(str(t.year)) else year + t.plan_name
    elif t.committee:
        owner = year + t.committee
    else:
        owner = year + "职称评审"
    return owner, f"{t.exam.kind}准考证"


def exam_time(start: datetime, end: datetime | None) -> str:
    """``2024年10月12日 09:00—11:30``; an exam over two days names both days."""
    text = f"{cn_date(start.date())} {start:%H:%M}"
    if end is None:
        return text
    if end.date() == start.date():
        return f"{text}—{end:%H:%M}"
    return f"{text} 至 {cn_date(end.date())} {end:%H:%M}"


def photo_uri(t: AdmissionTicket) -> str | None:
    """The photo fitted to the two-inch box once, while validating (service.documents.photo)."""
    if t.candidate.photo is None:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(t.candidate.photo.checked.fitted_jpeg).decode()


def _fitter(ctx: RenderContext) -> Fitter:
    # A name, a code or a title a step smaller rather than broken (auxiliary.css: cells padded 1.6 mm).
    return Fitter(advances_for(ctx.main_font), padding_mm=1.6, words=segmenter_for(ctx.profile.terms()))


def build_context(t: AdmissionTicket, ctx: RenderContext) -> dict:
    owner, ticket = title_lines(t)
    return {
        "t": t,
        "title_owner": owner,
        "title_ticket": ticket,
        "kinds": EXAM_KINDS,
        "time": exam_time(t.exam.start, t.exam.end),
        "photo_uri": photo_uri(t),
        "notices": list(t.notices) or default_notices(t.exam.kind),
        "fit": _fitter(ctx),
    }


def blank_context(ctx: RenderContext) -> dict:
    return {
        "t": BLANK,
        "title_owner": "职称评审",
        "title_ticket": "考试准考证",
        "kinds": EXAM_KINDS,
        "time": None,
        "photo_uri": None,
        "notices": default_notices(None),
        "fit": _fitter(ctx),
    }


def ticket_date(t: AdmissionTicket, ctx: RenderContext) -> date:
    """The day the ticket is dated: its issue date, else the configured date, else the exam's day."""
    if t.issued_on is not None:
        return t.issued_on
    if ctx.document_date is not None:
        return ctx.document_date
    return t.exam.start.date()


SPEC = FormSpec(
    slug="admission-ticket",
    title=TITLE,
    template="forms/admission-ticket/form.html",
    model=AdmissionTicket,
    build_context=build_context,
    document_date=ticket_date,
    description=(
        "职称评审面试或笔试准考证（exam.kind）：考生信息、二寸照片、申报情况、考试时间地点和考生须知"
        "（notices 不填时印默认须知），A4 纵向；有空白表"
    ),
    blank_context=blank_context,
)
