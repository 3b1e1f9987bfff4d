"""The declaration payload (申报信息) sent by a provincial title platform.

Field names follow ``shared/contract/declaration.json``. Sections a platform
may leave out are optional; a list that is null or absent is empty, and the
forms print 无 for it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from service.contract.common import (
    GENDERS,
    LEVELS,
    Code,
    ContractModel,
    Day,
    Line,
    Month,
    Name,
    Photo,
    Route,
    Short,
    Text,
    YearMonth,
    check_period,
    rows,
    term,
)
from service.contract.criteria import CriteriaSection

_ID_18 = re.compile(r"^\d{17}[\dXx]$")


class Committee(ContractModel):
    code: Code
    name: Line
    region: Short | None = None
    organizer: Line | None = None


class Plan(ContractModel):
    year: int = Field(ge=1980, le=2100)
    name: Line | None = None
    committee: Committee


class Unit(ContractModel):
    name: Line
    uscc: Code | None = None
    region: Line | None = None


class ExceptionBasis(ContractModel):
    """破格依据: the rule the applicant invokes to skip the seniority rules."""

    rule: Line
    text: Text
    evidence: rows(Line)


class TransferInfo(ContractModel):
    """转评: the applicant's original title in another series."""

    original_series: Short
    original_specialty: Short | None = None
    original_title: Short
    original_level: Short | None = None
    original_approved_on: Day | None = None
    original_issuer: Line | None = None
    original_certificate_no: Code | None = None
    new_post: Short | None = None
    new_post_start: Day | None = None
    years_in_post: int | None = Field(default=None, ge=0, le=80)
    reason: Text | None = None


class Application(ContractModel):
    series: Short
    specialty: Short
    specialty_scope: rows(Short)
    title: Short
    level: Literal[LEVELS]
    route: Route = "正常"
    work_post_specialty: Short | None = None
    recommending_unit: Unit
    competent_department: Line | None = None
    submitted_at: datetime | None = None
    exception: ExceptionBasis | None = None
    transfer: TransferInfo | None = None


class Applicant(ContractModel):
    name: Name
    former_name: Name | None = None
    gender: Literal[GENDERS]
    ethnicity: Short | None = None
    birth_date: Day
    birthplace: Line | None = None
    id_type: Short = "居民身份证"
    id_number: Code
    political_status: Short | None = None
    health: Short | None = None
    work_start_date: Month | None = None
    years_of_work: int | None = Field(default=None, ge=0, le=80)
    years_in_specialty: int | None = Field(default=None, ge=0, le=80)
    current_technical_work: Line | None = None
    administrative_post: Line | None = None
    academic_societies: Text | None = None
    foreign_language: Line | None = None
    phone: Code | None = None
    photo: Photo | None = None

    @field_validator("id_number")
    @classmethod
    def _id_number_shape(cls, value: str, info) -> str:
        # The check digit is not enforced: platforms hold legacy numbers that
        # fail it, and the form must still print what the person declared.
        if info.data.get("id_type") == "居民身份证" and not _ID_18.match(value):
            raise PydanticCustomError("id_number", "居民身份证号码应为 18 位数字（末位可为 X）")
        return value.upper() if info.data.get("id_type") == "居民身份证" else value


class Appointment(ContractModel):
    post: Short
    unit: Line | None = None
    start: Month | None = None
    end: Month | None = None

    @model_validator(mode="after")
    def _order(self) -> Appointment:
        check_period(self.start, self.end)
        return self


class CurrentTitle(ContractModel):
    certificate_no: Code | None = None
    series: Short | None = None
    specialty: Short | None = None
    title: Short
    level: Short | None = None
    route: Short | None = None
    approved_on: Day | None = None
    approving_body: Line | None = None
    issuing_body: Line | None = None
    # Anhui's 现有职称情况: 评审日期 and 发证日期 apart, and 「获得证书时工作单位」.
    reviewed_on: Day | None = None
    issued_on: Day | None = None
    unit_when_obtained: Line | None = None
    appointments: rows(Appointment)


EDUCATION_ROLES = ("基础学历", "申报学历", "最高学历")


class Education(ContractModel):
    roles: rows(term("education_role", EDUCATION_ROLES))
    start: Month | None = None
    end: Month | None = None
    school: Line
    major: Line | None = None
    education_level: Short
    degree: Short | None = None
    study_mode: Short | None = None
    length_years: float | None = Field(default=None, ge=0, le=20)
    certificate_no: Code | None = None

    @model_validator(mode="after")
    def _order(self) -> Education:
        check_period(self.start, self.end)
        return self


class Training(ContractModel):
    start: Month
    end: Month | None = None
    content: Text
    organizer: Line | None = None
    hours: float | None = Field(default=None, ge=0, le=100000)

    @model_validator(mode="after")
    def _order(self) -> Training:
        check_period(self.start, self.end)
        return self


class WorkRecord(ContractModel):
    start: Month
    end: Month | None = None
    unit: Line
    position: Short | None = None
    technical_work: Line | None = None
    witness: Name | None = None

    @model_validator(mode="after")
    def _order(self) -> WorkRecord:
        check_period(self.start, self.end)
        return self


class AnnualReview(ContractModel):
    year: int = Field(ge=1950, le=2100)
    result: Short


class Achievement(ContractModel):
    period: Short | None = None
    start: Month | None = None
    end: Month | None = None
    name: Text
    content_and_role: Text | None = None
    outcome: Text | None = None
    clause: Line | None = None

    @model_validator(mode="after")
    def _order(self) -> Achievement:
        check_period(self.start, self.end)
        return self


class Paper(ContractModel):
    published: Month | None = None
    title: Text
    journal: Line | None = None
    issn: Short | None = None
    cn: Short | None = None
    rank: Short | None = None
    # Hubei's 业绩成果-论文(已出): 刊号级别, 主办单位, and the required
    # 「出版、登载获奖或在学术会议上交流情况」.
    journal_level: Short | None = None
    sponsor: Line | None = None
    publication_note: Text | None = None


class Book(ContractModel):
    published: Month | None = None
    title: Text
    publisher: Line | None = None
    isbn: Short | None = None
    role: Short | None = None
    words_10k: float | None = Field(default=None, ge=0, le=10000)
    journal_level: Short | None = None  # Hubei's 著作 table: 刊号级别
    publication_note: Text | None = None  # 「出版、登载获奖或在学术会议上交流情况」


class Patent(ContractModel):
    kind: Short
    status: Short | None = None
    date: Day | None = None
    title: Text
    number: Short | None = None
    rank: Short | None = None
    is_main: bool = False


class Award(ContractModel):
    date: Month | None = None
    name: Text
    grade: Short | None = None
    issuer: Line | None = None
    rank: Short | None = None


class Project(ContractModel):
    start: Month | None = None
    end: Month | None = None
    name: Text
    source: Line | None = None
    level: Short | None = None
    role: Short | None = None
    funding_10k: float | None = Field(default=None, ge=0)
    status: Short | None = None

    @model_validator(mode="after")
    def _order(self) -> Project:
        check_period(self.start, self.end)
        return self


class TeacherInfo(ContractModel):
    """中小学教师 only."""

    teacher_category: Short | None = None
    staffing_category: Short | None = None
    teaching_start: Month | None = None
    teaching_years: int | None = Field(default=None, ge=0, le=80)
    rural_teaching_years: int | None = Field(default=None, ge=0, le=80)
    teacher_qualification: Line | None = None
    school_stage: Short | None = None
    subject: Short | None = None
    school: Line | None = None
    # 校(园)长岗位培训证书 (Anhui, Fujian): its number or name, where the teacher has one.
    principal_training_certificate: Line | None = None


class Opinion(ContractModel):
    text: Text
    signer: Name | None = None
    date: Day | None = None


class Publicity(ContractModel):
    start: Day
    end: Day
    result: Text | None = None

    @model_validator(mode="after")
    def _order(self) -> Publicity:
        check_period(self.start, self.end)
        return self


class CommitteeOpinion(ContractModel):
    text: Text | None = None
    expected: int | None = Field(default=None, ge=0, le=1000)
    present: int | None = Field(default=None, ge=0, le=1000)
    agree: int | None = Field(default=None, ge=0, le=1000)
    disagree: int | None = Field(default=None, ge=0, le=1000)
    abstain: int | None = Field(default=None, ge=0, le=1000)
    chair: Name | None = None
    date: Day | None = None

    @model_validator(mode="after")
    def _votes_add_up(self) -> CommitteeOpinion:
        votes = [v for v in (self.agree, self.disagree, self.abstain) if v is not None]
        if self.present is not None and len(votes) == 3 and sum(votes) > self.present:
            raise PydanticCustomError("votes", "同意、不同意、弃权票数之和不能超过实到人数")
        if self.present is not None and self.expected is not None and self.present > self.expected:
            raise PydanticCustomError("votes", "实到人数不能超过应到人数")
        return self


class Opinions(ContractModel):
    unit: Opinion | None = None
    # 评委会组建单位意见 (Anhui, Fujian: one of the five bodies that stamp the form).
    organizer: Opinion | None = None
    recommending: Opinion | None = None
    publicity: Publicity | None = None
    committee: CommitteeOpinion | None = None
    approval: Opinion | None = None
    # 主管部门意见 (破格申报审批表, 转评申报表).
    competent: Opinion | None = None


# --- 单位审核意见表 ------------------------------------------------------------

CHECK_ITEMS = ("材料真实性", "学历", "资历", "业绩", "考核", "继续教育")
CHECK_RESULTS = ("属实", "不属实", "符合", "不符合")


def check_results_of(item: str) -> tuple[str, str]:
    """The two answers the form offers for a check item."""
    return ("属实", "不属实") if item == "材料真实性" else ("符合", "不符合")


class ReviewCheck(ContractModel):
    """One line of the unit's checklist; without a result the form prints empty boxes."""

    item: Literal[CHECK_ITEMS]
    result: Literal[CHECK_RESULTS] | None = None
    note: Line | None = None

    @model_validator(mode="after")
    def _result_fits_item(self) -> ReviewCheck:
        allowed = check_results_of(self.item)
        if self.result is not None and self.result not in allowed:
            raise PydanticCustomError(
                "check_result",
                "“{item}”的审核结果应为“{yes}”或“{no}”",
                {"item": self.item, "yes": allowed[0], "no": allowed[1]},
            )
        return self


class UnitReview(ContractModel):
    """单位审核: the checklist and who handled it. The unit's opinion itself is
    ``opinions.unit`` (or, when only that is sent, ``opinions.recommending``)."""

    checks: rows(ReviewCheck)
    handler: Name | None = None  # 经办人
    phone: Code | None = None

    @field_validator("checks")
    @classmethod
    def _each_item_once(cls, checks: list[ReviewCheck]) -> list[ReviewCheck]:
        seen = set()
        for check in checks:
            if check.item in seen:
                raise PydanticCustomError("check_duplicate", "审核项目“{item}”重复，每项只填一次", {"item": check.item})
            seen.add(check.item)
        return checks


# --- 年度及任职期满考核表 --------------------------------------------------------

ASSESSMENT_GRADES = ("优秀", "合格", "基本合格", "不合格")
Count = Annotated[int, Field(ge=0, le=100000)]


def _month_order(value: YearMonth) -> tuple[int, int, int]:
    return (value.year, value.month, value.day or 0)


class Assessment(ContractModel):
    """年度及任职期满考核: the term, the self-assessment, the 民主测评 tallies and the opinions."""

    term_start: Month | None = None
    term_end: Month | None = None
    post: Short | None = None
    self_summary: Text | None = None
    achievements: Text | None = None
    staff_total: Count | None = None  # 实有人数
    participants: Count | None = None  # 参加人数
    excellent: Count | None = None  # 优秀
    competent: Count | None = None  # 合格
    basically_competent: Count | None = None  # 基本合格
    incompetent: Count | None = None  # 不合格
    grade: Literal[ASSESSMENT_GRADES] | None = None  # 考核等次
    grassroots_opinion: Opinion | None = None  # 基层（科室）意见
    unit_opinion: Opinion | None = None  # 单位意见

    @field_validator("term_end")
    @classmethod
    def _term_in_order(cls, end: YearMonth | None, info) -> YearMonth | None:
        # A field validator, so that the error names term_end (check_period's
        # errors are reported on a row's ``end``).
        start = info.data.get("term_start")
        if start is not None and end is not None and _month_order(end) < _month_order(start):
            raise PydanticCustomError("term_order", "任职期结束时间不能早于开始时间")
        return end

    @model_validator(mode="after")
    def _counts_add_up(self) -> Assessment:
        if self.staff_total is not None and self.participants is not None and self.participants > self.staff_total:
            raise PydanticCustomError("tally", "参加人数不能超过实有人数")
        tallies = (self.excellent, self.competent, self.basically_competent, self.incompetent)
        if self.participants is not None and sum(t or 0 for t in tallies) > self.participants:
            raise PydanticCustomError("tally", "优秀、合格、基本合格、不合格票数之和不能超过参加人数")
        return self


# --- 笔试申请表 ----------------------------------------------------------------


class WrittenTest(ContractModel):
    """笔试申请: what the 笔试申请表 asks beyond the declaration. Anhui's engineering
    applicants in 化工工程 and 安全工程 take a written test and upload the form (seeds).
    Every field may be left out: the form then prints its box empty, to be filled in by hand."""

    reason: Text | None = Field(default=None, description="申请理由")
    applied_on: Day | None = Field(default=None, description="申请日期；不填时用申报提交日期")
    unit_opinion: Opinion | None = Field(default=None, description="所在单位意见")
    organizer_opinion: Opinion | None = Field(default=None, description="评委会组建单位意见")


class Attachment(ContractModel):
    category: Line
    name: Line
    size_bytes: int | None = Field(default=None, ge=0)


class Declaration(ContractModel):
    declaration_id: Short
    plan: Plan
    application: Application
    applicant: Applicant
    current_titles: rows(CurrentTitle)
    education: rows(Education)
    training: rows(Training)
    work_history: rows(WorkRecord)
    annual_reviews: rows(AnnualReview)
    work_summary: Text | None = None
    achievements: rows(Achievement)
    papers: rows(Paper)
    books: rows(Book)
    patents: rows(Patent)
    awards: rows(Award)
    projects: rows(Project)
    teacher_info: TeacherInfo | None = None
    # Achievements under the committee's 评审标准 headings (service.contract.criteria).
    criteria: rows(CriteriaSection)
    opinions: Opinions = Field(default_factory=Opinions)
    attachments: rows(Attachment)
    unit_review: UnitReview | None = None
    assessment: Assessment | None = None
    written_test: WrittenTest | None = None

    @field_validator("opinions", mode="before")
    @classmethod
    def _null_opinions(cls, value):
        return {} if value is None else value
