"""笔试申请表: the application for the written test some specialties take before the review.

Anhui's engineering applicants in 化工工程 and 安全工程 take a written test; the
platform asks them to upload this form, filled in, signed and stamped (seeds,
职称申报). Its fields are not in the manual: they are inferred, the applicant's
core data as the other auxiliary forms print it (``service.forms.auxiliary``),
from the declaration, with its ``written_test`` section for the reason, the date
and the two opinions. Printable blank.
"""

from __future__ import annotations

from service.contract.declaration import Declaration
from service.forms.auxiliary import applicant_context, blank_applicant_context
from service.forms.review_form import declaration_date
from service.forms.spec import FormSpec, RenderContext

TITLE = "笔试申请表"

# The applicant's pledge above the signature. Inferred wording (the manual names the
# form only), in the terms of the platform's other pledges: truthful data, the exam's rules.
PLEDGE_TEXT = (
    "本人自愿申请参加笔试，承诺以上所填信息及提交的申报材料真实、准确，"
    "遵守考试纪律，服从考试安排。如有不实，本人愿承担相应责任。"
)


def written_test_context(d: Declaration, ctx: RenderContext) -> dict:
    common = applicant_context(d, ctx)
    w = d.written_test
    return {
        **common,
        "w": w,
        "pledge": PLEDGE_TEXT,
        # 出生年月: the form asks for the month, as the summary sheets do.
        "birth_month": f"{d.applicant.birth_date:%Y.%m}",
        # The day the applicant signs: the section's own, else the declaration's submission.
        "applied_on": w.applied_on if w and w.applied_on else common["fill_date"],
    }


def written_test_blank(ctx: RenderContext) -> dict:
    return {**blank_applicant_context(ctx), "w": None, "pledge": PLEDGE_TEXT, "birth_month": None, "applied_on": None}


SPEC = FormSpec(
    slug="written-test-application",
    title=TITLE,
    template="forms/written-test-application/form.html",
    model=Declaration,
    build_context=written_test_context,
    document_date=declaration_date,
    description=(
        "笔试申请表（工程系列化工工程、安全工程等需笔试的专业）：申请人基本情况、申请理由、本人承诺，"
        "单位意见和评委会组建单位意见（可填 written_test），A4 纵向；有空白表"
    ),
    blank_context=written_test_blank,
)
