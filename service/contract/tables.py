"""Lists of people: publicity tables (公示表) and rosters (花名册/一览表).

These hold hundreds to thousands of rows, so their row limit is the larger
``max_table_rows`` and exceeding it is a 413: the request is refused before
any row is looked at.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from service.contract.common import (
    GENDERS,
    Code,
    ContractModel,
    Day,
    Line,
    Month,
    Name,
    Short,
    Text,
    check_period,
    limits_of,
)
from service.contract.declaration import Declaration


class TooManyRows(Exception):
    """A list beyond the configured size. Not a ValueError, so pydantic lets it
    through instead of folding it into a 422: the API answers 413 up front."""

    def __init__(self, field: str, count: int, limit: int):
        super().__init__(f"名单共 {count} 行，超过上限 {limit} 行，请分批提交")
        self.field = field
        self.count = count
        self.limit = limit


def _check_table_rows(value: Any, info: ValidationInfo) -> Any:
    if value is None:
        return []
    if isinstance(value, list):
        limit = limits_of(info).max_table_rows
        if len(value) > limit:
            raise TooManyRows(info.field_name or "rows", len(value), limit)
    return value


def table_rows(item: Any) -> Any:
    return Annotated[list[item], BeforeValidator(_check_table_rows), Field(default_factory=list)]


class Period(ContractModel):
    start: Day
    end: Day
    working_days: int | None = Field(default=None, ge=1, le=60)

    @model_validator(mode="after")
    def _order(self) -> Period:
        check_period(self.start, self.end)
        return self


class Contact(ContractModel):
    text: Text | None = None
    phone: Code | None = None
    supervision_phone: Code | None = None
    address: Line | None = None
    email: Short | None = None


class PreReviewRow(ContractModel):
    name: Name
    gender: Literal[GENDERS] | None = None
    unit: Line | None = None
    education: Short | None = None
    current_title: Short | None = None
    years_in_title: int | None = Field(default=None, ge=0, le=80)
    specialty: Short | None = None
    title: Short | None = None
    route: Short | None = None


class ResultRow(ContractModel):
    name: Name
    gender: Literal[GENDERS] | None = None
    unit: Line | None = None
    specialty: Short | None = None
    current_title: Short | None = None
    title: Short | None = None
    result: Short | None = None


class _PublicityBase(ContractModel):
    title: Line
    publisher: Line
    intro: Text | None = None
    period: Period
    contact: Contact = Field(default_factory=Contact)
    date: Day


class PreReviewPublicity(_PublicityBase):
    """评审前公示: published by the unit before the review."""

    kind: Literal["pre_review"] = "pre_review"
    rows: table_rows(PreReviewRow)


class ResultPublicity(_PublicityBase):
    """评审结果公示: published by the committee's organiser after the review."""

    kind: Literal["result"]
    rows: table_rows(ResultRow)


PUBLICITY_KINDS: dict[str, type[_PublicityBase]] = {"pre_review": PreReviewPublicity, "result": ResultPublicity}


class RosterRow(ContractModel):
    name: Name
    gender: Literal[GENDERS] | None = None
    birth: Month | None = None
    education: Short | None = None
    current_title: Short | None = None
    current_title_date: Month | None = None
    specialty: Short | None = None
    title: Short | None = None
    route: Short | None = None
    years_in_title: int | None = Field(default=None, ge=0, le=80)
    paper_count: int | None = Field(default=None, ge=0, le=10000)
    annual_reviews: Short | None = None
    unit: Line | None = None
    remark: Line | None = None


class Roster(ContractModel):
    """A committee's or unit's applicants, one row each: given as rows, or as whole declarations."""

    title: Line
    publisher: Line | None = None
    subtitle: Line | None = None
    date: Day
    rows: table_rows(RosterRow)
    declarations: table_rows(Declaration)

    @model_validator(mode="after")
    def _one_source(self) -> Roster:
        if not self.rows and not self.declarations:
            raise PydanticCustomError("roster_empty", "rows 或 declarations 至少提供一项")
        return self
