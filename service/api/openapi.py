"""OpenAPI: routes that parse their body themselves (to apply the configured
limits and report errors in Chinese) still publish the contract's schema and
an example, so that /docs shows what the platform must send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, TypeAdapter

from service.api.openapi_links import add_links
from service.contract.unknown import open_schema

_REF = "#/components/schemas/{model}"


def json_body(model, example_name: str | None = None, upload: bool = False) -> dict:
    content: dict[str, Any] = {"application/json": {"schema": {"$ref": _REF.format(model=_name(model))}}}
    if upload:
        content["multipart/form-data"] = {
            "schema": {
                "type": "object",
                "required": ["meta", "file"],
                "properties": {
                    "meta": {
                        "type": "string",
                        "description": "JSON：除名单行以外的全部字段（标题、发布单位、公示期等）",
                    },
                    "file": {"type": "string", "format": "binary", "description": ".xlsx 或 .csv；第一行为列标题"},
                },
            }
        }
    return {"requestBody": {"required": True, "content": content}, "x-example": example_name}


def _name(model) -> str:
    """A model class, or a TypeAdapter of a union (named after its members)."""
    if isinstance(model, type):
        return model.__name__
    union = model._type
    if get_origin(union) is Annotated:  # a discriminated union: Annotated[A | B, Field(...)]
        union = get_args(union)[0]
    return "Or".join(member.__name__ for member in get_args(union))


def model_schema(model: type[BaseModel] | TypeAdapter[Any]) -> dict:
    if isinstance(model, type):
        return model.model_json_schema(ref_template=_REF)
    return model.json_schema(ref_template=_REF)


# Every error leaves the service in one shape (service.api.errors); FastAPI's default
# HTTPValidationError ({"detail": [...]}) is never what a 422 carries.
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message", "errors", "request_id"],
    "properties": {
        "error": {"type": "string", "description": "错误代码（英文，稳定）"},
        "message": {"type": "string", "minLength": 1, "description": "给办事人员看的中文说明"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "message", "type"],
                "properties": {
                    "path": {"type": "string", "description": "字段的 JSON 路径，如 holder.name"},
                    "message": {"type": "string", "minLength": 1},
                    "type": {"type": "string"},
                },
            },
        },
        "request_id": {
            "type": "string",
            "description": "本次请求的编号（同响应头 X-Request-ID），日志与审计记录据此关联",
        },
    },
}
_ERROR_RESPONSE = {"content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}}}
_ERRORS = {
    "4XX": "请求有误：message 说明原因，errors 逐项列出字段路径（401 缺少密钥、403 无权、404 不存在、409 冲突、"
    "413 过大、415 类型不支持、422 数据有误、429 过于频繁）",
    "503": "服务繁忙或依赖暂不可用，请按 Retry-After 稍后重试",
}


def document_errors(schema: dict) -> None:
    """Every operation's 4xx (and 503) answers as the one error shape, each documented."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                # A 4xx that documents a body of its own (the public "not found") keeps it.
                if status.startswith("4") and _declares_no_body_of_its_own(response):
                    response.update(_ERROR_RESPONSE)
                    response.setdefault("description", _ERRORS["4XX"])
            for status, description in _ERRORS.items():
                responses.setdefault(status, {"description": description, **_ERROR_RESPONSE})


def _declares_no_body_of_its_own(response: dict) -> bool:
    schemas = [c.get("schema", {}) for c in response.get("content", {}).values()]
    return all(not schema or schema.get("$ref", "").endswith("/HTTPValidationError") for schema in schemas)


def install_openapi(app: FastAPI, models: list, examples: dict[str, Path], unknown_fields: str = "reject") -> None:
    """Publish ``models`` under components and attach ``examples`` (name → JSON file);
    ``additionalProperties: false`` unless the service ignores unknown fields."""

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            schema_of_model = model_schema(model) if unknown_fields == "reject" else open_schema(model_schema(model))
            components.update(schema_of_model.pop("$defs", {}))
            components[_name(model)] = schema_of_model
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                name = operation.pop("x-example", None)
                if name and name in examples:
                    content = operation["requestBody"]["content"]["application/json"]
                    content["examples"] = {
                        "contract": {"summary": "平台示例数据", "value": json.loads(examples[name].read_text("utf-8"))}
                    }
        document_errors(schema)
        add_links(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to replace the schema
