"""单位公示证明: the unit certifies that it held the pre-review publicity of its applicants.

Hubei's platform asks the unit to upload it beside 基层单位推荐意见表 and
年度及任职期满考核结果表 before sending its applicants on (seeds, 单位送审). One
proof covers every applicant the unit publicised, so it is a payload of its own
(unit, period, people), not a declaration's.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from service.contract.common import (
    GENDERS,
    LEVELS,
    Code,
    ContractModel,
    Day,
    Line,
    Name,
    Short,
    Text,
    required_rows,
)

# DOMAIN.md (公示): at least 5 working days. Working days are counted by the unit, which
# knows the holidays and the weekends worked in their place; the contract only checks
# that the count is at least this and fits in the calendar days of the period.
MIN_WORKING_DAYS = 5

OUTCOMES = ("无异议", "有异议")


class ProofUnit(ContractModel):
    name: Line = Field(description="单位名称")
    uscc: Code | None = Field(default=None, description="统一社会信用代码")


class PublicisedApplicant(ContractModel):
    """One applicant on the unit's publicity: who, and for what."""

    name: Name = Field(description="姓名")
    gender: Literal[GENDERS] | None = Field(default=None, description="性别")
    series: Short | None = Field(default=None, description="申报系列，如 工程技术人员")
    specialty: Short = Field(description="申报专业，如 化工")
    title: Short = Field(description="申报资格（资格名称），如 工程师")
    level: Literal[LEVELS] | None = Field(default=None, description="申报级别")


class ProofPeriod(ContractModel):
    start: Day = Field(description="公示开始日期")
    end: Day = Field(description="公示结束日期")
    # The schema says the minimum; the validator below says it in words (不少于 5 个工作日)
    # rather than the generic 不能小于 5.
    working_days: int = Field(
        ge=1,
        le=60,
        json_schema_extra={"minimum": MIN_WORKING_DAYS},
        description=f"公示工作日数，不少于 {MIN_WORKING_DAYS} 个工作日",
    )

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is not None and end < start:
            raise PydanticCustomError("period_end", "公示结束日期不能早于开始日期")
        return end

    @field_validator("working_days")
    @classmethod
    def _enough_working_days(cls, days: int, info: ValidationInfo) -> int:
        if days < MIN_WORKING_DAYS:
            raise PydanticCustomError(
                "working_days",
                "评审前公示不少于 {minimum} 个工作日，当前为 {days} 个工作日",
                {"minimum": MIN_WORKING_DAYS, "days": days},
            )
        start, end = info.data.get("start"), info.data.get("end")
        if start is not None and end is not None and end >= start and days > (end - start).days + 1:
            raise PydanticCustomError(
                "working_days",
                "工作日数 {days} 超过了公示期的天数（{start} 至 {end} 共 {calendar} 天）",
                {"days": days, "start": str(start), "end": str(end), "calendar": (end - start).days + 1},
            )
        return days


class PublicityProof(ContractModel):
    """单位公示证明: the unit, the applicants it publicised, when, where and with what result."""

    year: int | None = Field(default=None, ge=1980, le=2100, description="评审年度")
    committee: Line | None = Field(default=None, description="评委会名称")
    unit: ProofUnit = Field(description="公示单位")
    applicants: required_rows(PublicisedApplicant) = Field(description="公示人员，至少 1 人")
    period: ProofPeriod = Field(description="公示时间")
    place: Line = Field(description="公示地点及方式，如 单位公示栏、单位内网")
    outcome: Literal[OUTCOMES] = Field(description="公示结果：无异议 / 有异议")
    # Validated when absent too: an objection without its handling is an error.
    handling: Text | None = Field(
        default=None, validate_default=True, description="异议及处理情况（公示结果为“有异议”时必填）"
    )
    statement: Text | None = Field(default=None, description="证明文字；不填时按公示时间、人数和结果生成")
    responsible: Name | None = Field(default=None, description="单位负责人（签字处可手签，此处可空）")
    handler: Name | None = Field(default=None, description="经办人")
    phone: Code | None = Field(default=None, description="联系电话")
    date: Day | None = Field(default=None, description="证明日期，不早于公示结束日期")

    @field_validator("handling")
    @classmethod
    def _handling_of_objections(cls, handling: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("outcome") == "有异议" and not handling:
            raise PydanticCustomError("handling_missing", "公示结果为“有异议”时须填写异议及处理情况")
        return handling

    @field_validator("date")
    @classmethod
    def _dated_after_the_publicity(cls, day: Day | None, info: ValidationInfo) -> Day | None:
        # A field validator, so that the error names ``date`` (the period is validated first).
        period = info.data.get("period")
        if day is not None and period is not None and day < period.end:
            raise PydanticCustomError("date_order", "证明日期不能早于公示结束日期 {end}", {"end": str(period.end)})
        return day
