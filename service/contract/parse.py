"""Parse a request body into a contract model: the one place input is validated."""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from service.config import Limits
from service.contract.errors import field_errors
from service.contract.tables import TooManyRows
from service.errors import FieldError, InvalidInput, TooLarge

M = TypeVar("M", bound=BaseModel)


def parse_json(body: bytes) -> object:
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise InvalidInput("请求体应为 UTF-8 编码的 JSON", errors=[FieldError("(body)", "请求体应为 UTF-8 编码的 JSON", "json_invalid")]) from None
    except json.JSONDecodeError as exc:
        message = f"请求体不是合法的 JSON：第 {exc.lineno} 行第 {exc.colno} 列附近有误"
        raise InvalidInput(message, errors=[FieldError("(body)", message, "json_invalid")]) from None


def validate_payload(model: type[M], data: object, limits: Limits, path_prefix: str = "") -> M:
    """Validate ``data`` as ``model``; every bad field is reported, each by its JSON path
    (under ``path_prefix`` when the data sits inside a larger body)."""
    try:
        return model.model_validate(data, context={"limits": limits})
    except TooManyRows as exc:
        raise TooLarge(str(exc), errors=[FieldError(exc.field, str(exc), "too_many_rows")]) from None
    except ValidationError as exc:
        errors = field_errors(exc)
        if path_prefix:
            errors = [FieldError(f"{path_prefix}.{e.path}", e.message, e.type) for e in errors]
        raise InvalidInput(f"提交的数据有 {len(errors)} 处错误，请按提示修改", errors=errors) from None


def parse_payload(model: type[M], body: bytes, limits: Limits) -> M:
    return validate_payload(model, parse_json(body), limits)
