"""Parse a request body into a contract model: the one place input is validated."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from service.config import Limits
from service.contract.errors import field_errors_from_list
from service.contract.strict_json import load_json
from service.contract.tables import TooManyRows
from service.contract.unknown import UNKNOWN, drop_unknown, unknown_field_error
from service.errors import FieldError, InvalidInput, TooLarge

M = TypeVar("M", bound=BaseModel)


def parse_json(body: bytes, where: str = "(body)", what: str = "请求体") -> object:
    """``body`` as JSON, read strictly (``service.contract.strict_json``): depth, numbers,
    duplicate keys and lone surrogates are refused with a 422 naming where they are."""
    return load_json(body, where, what)


def validate_payload(model: type[M], data: object, limits: Limits, path_prefix: str = "") -> M:
    """Validate ``data`` as ``model``; every bad field is reported, each by its JSON path
    (under ``path_prefix`` when the data sits inside a larger body). A field the
    contract does not know is one of them, unless ``limits.unknown_fields`` says ignore."""
    try:
        return model.model_validate(data, context={"limits": limits})
    except TooManyRows as exc:
        raise TooLarge(str(exc), errors=[FieldError(exc.field, str(exc), "too_many_rows")]) from None
    except ValidationError as exc:
        items = exc.errors(include_url=False)
    unknown = [tuple(item["loc"]) for item in items if item["type"] == UNKNOWN]
    if unknown and limits.unknown_fields == "ignore":
        return validate_payload(model, drop_unknown(data, unknown), limits, path_prefix)
    errors = []
    for item in items:
        if item["type"] == UNKNOWN:
            errors.append(unknown_field_error(model, data, tuple(item["loc"]), path_prefix))
            continue
        (error,) = field_errors_from_list([item])
        errors.append(FieldError(f"{path_prefix}.{error.path}", error.message, error.type) if path_prefix else error)
    raise InvalidInput(f"提交的数据有 {len(errors)} 处错误，请按提示修改", errors=errors)


def parse_payload(model: type[M], body: bytes, limits: Limits) -> M:
    return validate_payload(model, parse_json(body), limits)
