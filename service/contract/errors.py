"""Pydantic errors → field errors with a JSON path and a Chinese message."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from service.errors import FieldError

# Messages for pydantic's built-in error types. Custom errors
# (PydanticCustomError) already carry their Chinese message.
_MESSAGES: dict[str, str] = {
    "missing": "缺少必填项",
    "string_type": "应为文字",
    "string_too_short": "不能为空",
    "string_too_long": "过长：最多 {max_length} 个字符",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "datetime_type": "时间格式应为 YYYY-MM-DDTHH:MM:SS+08:00",
    "datetime_parsing": "时间格式应为 YYYY-MM-DDTHH:MM:SS+08:00",
    "datetime_from_date_parsing": "时间格式应为 YYYY-MM-DDTHH:MM:SS+08:00",
    "date_type": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "string_pattern_mismatch": "格式不正确",
    "json_invalid": "不是合法的 JSON",
    "extra_forbidden": "不认识的字段",
    "union_tag_invalid": "类型应为以下之一：{expected_tags}",
    "union_tag_not_found": "缺少类型字段 {discriminator}",
    "base64_decode": "不是合法的 Base64 编码",
    "url_parsing": "不是合法的网址",
    "string_unicode": "应为文字",
    "int_too_big": "数值过大",
    "finite_number": "应为有限的数字",
    "float_finite_number": "应为有限的数字",
    "uuid_parsing": "格式不正确",
    "bytes_type": "应为文字",
    "is_instance_of": "类型不正确",
    "no_such_attribute": "不认识的字段",
    "dict_attributes_type": "应为对象",
    "frozen_instance": "不可修改",
}


_CJK = re.compile("[\u3400-\u9fff]")
_FALLBACK = "取值不符合要求，请按接口说明（/docs）填写"


def format_path(loc: tuple[Any, ...]) -> str:
    """``('papers', 3, 'title')`` → ``papers[3].title``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("function-after", "function-before", "function-wrap") or str(part).startswith(
            ("function-", "tagged-union[", "lax-or-strict", "json-or-python")
        ):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path or "(body)"


def _message(error: Mapping[str, Any]) -> str:
    template = _MESSAGES.get(error["type"])
    if template is None:
        message = error["msg"].removeprefix("Value error, ")
        # A custom error: pydantic has already formatted our Chinese message. Any other
        # (a pydantic type this table lacks) must not reach a clerk in English.
        return message if _CJK.search(message) else _FALLBACK
    ctx = error.get("ctx") or {}
    try:
        return template.format(**{k: _readable(v) for k, v in ctx.items()})
    except (KeyError, IndexError):
        return template


def _readable(value: Any) -> str:
    # pydantic formats literal choices as "'男' or '女'": print them as a clerk would.
    return str(value).replace("' or '", "、").replace("', '", "、").strip("'")


def field_errors(error: ValidationError) -> list[FieldError]:
    return field_errors_from_list(error.errors(include_url=False))


def field_errors_from_list(items: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    found = []
    for item in items:
        path = format_path(tuple(item["loc"]))
        if item["type"] == "period_order":
            # Raised by the row's validator; the end date is what to correct.
            path += ".end"
        found.append(FieldError(path=path, message=_message(item), type=item["type"]))
    return found
