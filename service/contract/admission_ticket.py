"""准考证: the ticket an applicant prints for the committee's interview (面试) or written test (笔试).

The Anhui and Fujian platforms offer 「打印准考证」 beside each declaration
(seeds, 当前申报记录). The manuals do not show the ticket itself: its fields are
those such tickets carry (who, for what, when and where, the photo, the notices),
inferred, not read from a manual.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from service.contract.common import (
    GENDERS,
    LEVELS,
    ContractModel,
    Day,
    Line,
    Name,
    Photo,
    Short,
    Text,
    identifier_text,
    rows,
)

EXAM_KINDS = ("面试", "笔试")
BEIJING = timezone(timedelta(hours=8), "CST")
EXAM_YEARS = (1980, 2100)  # as the plans' years (declaration.Plan.year)

_ID_18 = re.compile(r"^\d{17}[\dXx]$")

# The ticket number is printed large in one cell: long enough for any province's
# numbering (Anhui's are about 12 digits), short enough to stay on one line.
TicketNumber = identifier_text(40)
IdNumber = identifier_text(30)


class Candidate(ContractModel):
    """考生: the applicant as the ticket names them."""

    name: Name = Field(description="姓名")
    gender: Literal[GENDERS] = Field(description="性别")
    id_type: Short = Field(default="居民身份证", description="证件类型")
    id_number: IdNumber = Field(description="证件号码（居民身份证为 18 位）")
    work_unit: Line = Field(description="工作单位")
    photo: Photo | None = Field(default=None, description="二寸免冠照片（JPEG 或 PNG，Base64）；不填时留出贴照片处")

    @field_validator("id_number")
    @classmethod
    def _id_number_shape(cls, value: str, info: ValidationInfo) -> str:
        # As in the declaration: the shape is checked, the check digit is not
        # (legacy numbers fail it and must still print as on the ID card).
        if info.data.get("id_type") == "居民身份证":
            if not _ID_18.match(value):
                raise PydanticCustomError("id_number", "居民身份证号码应为 18 位数字（末位可为 X）")
            return value.upper()
        return value


class AppliedTitle(ContractModel):
    """申报: the title the exam is part of the review for."""

    series: Short = Field(description="申报系列，如 工程技术人员")
    specialty: Short = Field(description="申报专业，如 化工工程")
    title: Short = Field(description="申报职称（资格名称），如 高级工程师")
    level: Literal[LEVELS] = Field(description="申报级别")


class ExamSession(ContractModel):
    """考试: which kind, when and where."""

    kind: Literal[EXAM_KINDS] = Field(description="考试类别：面试 / 笔试")
    start: datetime = Field(description="考试开始时间，如 2024-10-12T09:00:00+08:00（不带时区按北京时间）")
    end: datetime | None = Field(default=None, description="考试结束时间")
    venue: Line = Field(description="考试地点（考点名称及地址）")
    room: Short | None = Field(default=None, description="考场")
    seat: Short | None = Field(default=None, description="座位号")

    @field_validator("start", "end")
    @classmethod
    def _in_beijing_time(cls, value: datetime | None) -> datetime | None:
        # The ticket prints the local time of the exam: a time without a zone is
        # Beijing time, one with another zone is converted to it (after the year is
        # checked: 9999-12-31 in another zone has no Beijing time).
        if value is None:
            return None
        if not EXAM_YEARS[0] <= value.year <= EXAM_YEARS[1]:
            raise PydanticCustomError(
                "exam_year",
                "考试时间的年份应在 {first} 至 {last} 年之间",
                {"first": EXAM_YEARS[0], "last": EXAM_YEARS[1]},
            )
        return value.replace(tzinfo=BEIJING) if value.tzinfo is None else value.astimezone(BEIJING)

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start")
        if end is not None and start is not None and end <= start:
            raise PydanticCustomError("exam_time", "考试结束时间应晚于开始时间")
        return end


class AdmissionTicket(ContractModel):
    """准考证: one applicant's ticket for one interview or written test."""

    ticket_no: TicketNumber = Field(description="准考证号")
    year: int | None = Field(default=None, ge=1980, le=2100, description="评审年度")
    plan_name: Line | None = Field(default=None, description="评审计划名称，如 2024年度安徽省工程系列高级职称评审")
    committee: Line | None = Field(default=None, description="评委会名称")
    organizer: Line | None = Field(default=None, description="考试组织单位（印在准考证末尾）")
    candidate: Candidate = Field(description="考生")
    application: AppliedTitle = Field(description="申报情况")
    exam: ExamSession = Field(description="考试安排")
    notices: rows(Text) = Field(description="考生须知，每条一项；不填时印表单默认的须知")
    issued_on: Day | None = Field(default=None, description="打印（签发）日期")
