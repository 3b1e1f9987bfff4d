"""OpenAPI: routes that parse their body themselves (to apply the configured
limits and report errors in Chinese) still publish the contract's schema and
an example, so that /docs shows what the platform must send."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

_REF = "#/components/schemas/{model}"


def json_body(model: type[BaseModel], example_name: str | None = None) -> dict:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}},
        },
        "x-body-model": model.__name__,
        "x-example": example_name,
    }


def install_openapi(app: FastAPI, models: list[type[BaseModel]], examples: dict[str, Path]) -> None:
    """Publish ``models`` under components and attach ``examples`` (name → JSON file)."""

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            model_schema = model.model_json_schema(ref_template=_REF)
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                name = operation.pop("x-example", None)
                operation.pop("x-body-model", None)
                if name and name in examples:
                    content = operation["requestBody"]["content"]["application/json"]
                    content["examples"] = {
                        "contract": {"summary": "平台示例数据", "value": json.loads(examples[name].read_text("utf-8"))}
                    }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
