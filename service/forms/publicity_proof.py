"""单位公示证明: the unit's certificate that it publicised its applicants before the review.

Filled from its own payload (``service.contract.publicity_proof``), one proof for
every applicant the unit publicised; printable blank, for the unit that writes it
by hand. The seal box (单位（盖章）, 年 月 日) is printed whatever the payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.contract.publicity_proof import MIN_WORKING_DAYS, PublicityProof
from service.documents.columns import Fitter
from service.documents.filters import cn_date
from service.documents.tabular import advances_for
from service.documents.words import segmenter_for
from service.forms.blank import BLANK
from service.forms.spec import FormSpec, RenderContext

TITLE = "单位公示证明"

# The two answers of 公示结果, as the form words them (the payload's ``outcome`` is the
# part after 公示期间).
OUTCOME_LABELS = ("公示期间无异议", "公示期间有异议")

# Empty numbered rows of the blank form's list of applicants.
BLANK_ROWS = 8

# The certification sentence is not in the manuals (the Hubei platform only names the
# document): this wording is inferred from the proofs units write, and a payload may
# replace it (``statement``).
BLANK_STATEMENT = (
    f"我单位已按规定对上述申报人员的申报材料进行了评审前公示，公示期不少于{MIN_WORKING_DAYS}个工作日，"
    "公示时间、地点及结果如上。特此证明。"
)


@dataclass(frozen=True)
class Signed:
    """The certification as an opinion box prints it: text, signer, date."""

    text: str
    signer: str | None
    date: date | None


def certification_text(p: PublicityProof) -> str:
    """The payload's own statement, else a sentence made of its period and outcome."""
    if p.statement:
        return p.statement
    period = p.period
    result = "公示期间无异议" if p.outcome == "无异议" else "公示期间收到异议，已按规定核实处理（处理情况见上）"
    return (
        f"我单位已于{cn_date(period.start)}至{cn_date(period.end)}（共{period.working_days}个工作日）"
        f"对上述{len(p.applicants)}名申报人员的申报材料进行了评审前公示，{result}。特此证明。"
    )


def _fitter(ctx: RenderContext) -> Fitter:
    # A name or a title a step smaller rather than broken (auxiliary.css: cells padded 1.6 mm).
    return Fitter(advances_for(ctx.main_font), padding_mm=1.6, words=segmenter_for(ctx.profile.terms()))


def build_context(p: PublicityProof, ctx: RenderContext) -> dict:
    return {
        "p": p,
        "people": list(p.applicants),
        "outcome": f"公示期间{p.outcome}",
        "outcome_labels": OUTCOME_LABELS,
        "certification": Signed(certification_text(p), p.responsible, p.date),
        "fit": _fitter(ctx),
    }


def blank_context(ctx: RenderContext) -> dict:
    return {
        "p": BLANK,
        "people": [None] * BLANK_ROWS,
        "outcome": None,
        "outcome_labels": OUTCOME_LABELS,
        "certification": Signed(BLANK_STATEMENT, None, None),
        "fit": _fitter(ctx),
    }


def proof_date(p: PublicityProof, ctx: RenderContext) -> date:
    """The day the proof is dated: its own date, else the configured date, else the publicity's last day."""
    if p.date is not None:
        return p.date
    if ctx.document_date is not None:
        return ctx.document_date
    return p.period.end


SPEC = FormSpec(
    slug="publicity-proof",
    title=TITLE,
    template="forms/publicity-proof/form.html",
    model=PublicityProof,
    build_context=build_context,
    document_date=proof_date,
    description=(
        "单位公示证明：单位、公示人员名单、公示时间（不少于 5 个工作日）、地点及方式、公示结果，"
        "单位负责人签字并盖章，A4 纵向；有空白表"
    ),
    blank_context=blank_context,
)
