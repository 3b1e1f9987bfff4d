"""公示表: the publicity tables, before the review (by the unit) and of its results."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import TypeAdapter

from service.config import Limits
from service.contract.parse import validate_payload
from service.contract.spreadsheet import read_sheet, sheet_errors
from service.contract.tables import PUBLICITY_KINDS, PreReviewPublicity, ResultPublicity
from service.documents.tabular import Column, ListLayout, advances_for
from service.errors import FieldError, InvalidInput
from service.forms.spec import FormSpec, RenderContext
from service.profiles.schema import Profile

COLUMNS = {
    "pre_review": (
        Column("seq", "序号", 6),
        Column("name", "姓名", 8),
        Column("gender", "性别", 6),
        Column("unit", "单位", 24),
        Column("education", "学历", 8),
        Column("current_title", "现职称", 10),
        Column("years_in_title", "任职年限", 8),
        Column("specialty", "申报专业", 12),
        Column("title", "申报资格", 10),
        Column("route", "申报类型", 8),
    ),
    "result": (
        Column("seq", "序号", 6),
        Column("name", "姓名", 10),
        Column("gender", "性别", 6),
        Column("unit", "单位", 30),
        Column("current_title", "现职称", 12),
        Column("specialty", "专业", 12),
        Column("title", "资格名称", 12),
        Column("result", "评审结果", 12),
    ),
}

# Spreadsheet headings accepted for each column (besides the JSON key itself).
HEADINGS = {
    "name": ("姓名",),
    "gender": ("性别",),
    "unit": ("单位", "工作单位", "单位名称"),
    "education": ("学历",),
    "current_title": ("现职称", "现任职称", "现专业技术职务"),
    "years_in_title": ("任职年限", "现职称任职年限"),
    "specialty": ("申报专业", "专业"),
    "title": ("申报资格", "资格名称", "申报职称"),
    "route": ("申报类型",),
    "result": ("评审结果", "结果"),
}


def parse_publicity(data: Any, limits: Limits):
    """Pick the model by ``kind`` so that errors name ``rows[i].field`` directly."""
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象", errors=[FieldError("(body)", "应为 JSON 对象", "dict_type")])
    kind = data.get("kind", "pre_review")
    model = PUBLICITY_KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        message = "应为以下之一：pre_review（评审前公示）、result（评审结果公示）"
        raise InvalidInput("提交的数据有 1 处错误，请按提示修改", errors=[FieldError("kind", message, "literal_error")])
    return validate_payload(model, data, limits)


def parse_publicity_upload(meta: Any, filename: str, data: bytes, limits: Limits):
    """The rows from a spreadsheet, the other fields from ``meta`` (the same JSON, without rows)."""
    if not isinstance(meta, dict):
        raise InvalidInput(
            "meta 应为 JSON 对象",
            errors=[FieldError("meta", "应为 JSON 对象（公示标题、发布单位、公示期等）", "dict_type")],
        )
    kind = meta.get("kind", "pre_review")
    if not isinstance(kind, str) or kind not in COLUMNS:
        parse_publicity(meta, limits)  # reports the bad kind
    keys = [c.key for c in COLUMNS[kind]][1:]
    required = ("name", "result") if kind == "result" else ("name",)
    sheet = read_sheet(filename, data, {k: HEADINGS.get(k, ()) for k in keys}, required, limits.max_table_rows)
    try:
        return parse_publicity({**meta, "kind": kind, "rows": sheet.rows}, limits)
    except InvalidInput as exc:
        raise sheet_errors(exc, sheet) from None


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


TABLE_WIDTH_MM = 267.0  # A4 landscape less the 15 mm margins of landscape.css
FONT_SIZE_PT = 9.0
CELL_PADDING_MM = 1.2


def table_cells(publicity, words: Profile) -> list[list[str]]:
    """The rows' cells; 申报类型 in the province's words whatever accepted word a row sent."""
    keys = [c.key for c in COLUMNS[publicity.kind]][1:]

    def value(row, key: str):
        cell = getattr(row, key)
        return words.printed("route", cell) if key == "route" else cell

    return [[str(i)] + [_cell(value(row, key)) for key in keys] for i, row in enumerate(publicity.rows, start=1)]


def build_context(publicity, ctx: RenderContext) -> dict:
    layout = ListLayout(
        COLUMNS[publicity.kind],
        TABLE_WIDTH_MM,
        FONT_SIZE_PT,
        CELL_PADDING_MM,
        advances_for(ctx.main_font),
        fast=ctx.fast_lists,
    )
    return {
        "d": publicity,
        "layout": layout,
        "rows": [layout.row(cells) for cells in table_cells(publicity, ctx.profile)],
    }


def publicity_date(publicity, ctx: RenderContext) -> date:
    return publicity.date


SPEC = FormSpec(
    slug="publicity",
    title="公示表",
    template="forms/publicity/form.html",
    model=TypeAdapter(PreReviewPublicity | ResultPublicity),
    build_context=build_context,
    document_date=publicity_date,
    orientation="landscape",
    description="评审前公示（kind=pre_review）与评审结果公示（kind=result），A4 横向；也可上传 .xlsx / .csv 名单",
    parse=parse_publicity,
    upload=parse_publicity_upload,
)
