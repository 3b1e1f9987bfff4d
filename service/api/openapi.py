"""OpenAPI: routes that parse their body themselves (to apply the configured
limits and report errors in Chinese) still publish the contract's schema and
an example, so that /docs shows what the platform must send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, get_args, get_origin

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.contract.unknown import open_schema

_REF = "#/components/schemas/{model}"


def json_body(model, example_name: str | None = None, upload: bool = False) -> dict:
    content = {"application/json": {"schema": {"$ref": _REF.format(model=_name(model))}}}
    if upload:
        content["multipart/form-data"] = {
            "schema": {
                "type": "object",
                "required": ["meta", "file"],
                "properties": {
                    "meta": {"type": "string", "description": "JSON：除名单行以外的全部字段（标题、发布单位、公示期等）"},
                    "file": {"type": "string", "format": "binary", "description": ".xlsx 或 .csv；第一行为列标题"},
                },
            }
        }
    return {"requestBody": {"required": True, "content": content}, "x-example": example_name}


def _name(model) -> str:
    """A model class, or a TypeAdapter of a union (named after its members)."""
    if isinstance(model, type):
        return model.__name__
    union = getattr(model, "_type")
    if get_origin(union) is Annotated:  # a discriminated union: Annotated[A | B, Field(...)]
        union = get_args(union)[0]
    return "Or".join(member.__name__ for member in get_args(union))


def model_schema(model) -> dict:
    if isinstance(model, type):
        return model.model_json_schema(ref_template=_REF)
    return model.json_schema(ref_template=_REF)


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
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
