"""Fields the contract does not know: named with a suggestion, or dropped when configured.

A declaration goes into a personnel archive; a field sent under a wrong name
(``staffing`` for ``staffing_category``) would print as an empty row and nobody
would notice. So every contract model forbids unknown fields (their JSON schema
says ``additionalProperties: false``) and each one is reported by its JSON path,
with the closest known field as a suggestion. A province whose platform sends
extra fields sets ``ZC_CONTRACT_UNKNOWN_FIELDS=ignore``: they are then dropped
before validation.
"""

from __future__ import annotations

import copy
import difflib
import typing
from typing import Any

from pydantic import BaseModel

from service.contract.errors import format_path
from service.errors import FieldError

UNKNOWN = "extra_forbidden"  # pydantic's error type for a field the model does not declare
# Below this score a "closest" field is only a guess; no suggestion then.
MIN_SCORE = 0.55


def unknown_field_error(model: type[BaseModel], data: Any, loc: tuple, path_prefix: str = "") -> FieldError:
    """The error for the unknown field at ``loc``: its path, and the known field it most likely means."""
    path = format_path(loc)
    if path_prefix:
        path = f"{path_prefix}.{path}"
    known = known_fields(model, loc[:-1])
    present = set(_object_at(data, loc[:-1]) or ())
    suggestion = closest_field(str(loc[-1]), [name for name in known if name not in present])
    if suggestion:
        message = f"未知字段 {path}，是否应为 {suggestion}？"
    else:
        message = f"未知字段 {path}：接口约定中没有该字段，请删除或核对字段名"
    return FieldError(path, message, "unknown_field")


def closest_field(name: str, candidates: list[str]) -> str | None:
    """The candidate that ``name`` most likely misspells, or None when none is close.

    Field names are snake_case English: two names ending in the same word
    (``teaching_stage``, ``school_stage``) name the same kind of thing, so a
    shared last word counts more than the spelling alone."""
    best, best_score = None, MIN_SCORE
    for candidate in candidates:
        score = _similarity(name.lower(), candidate)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _similarity(name: str, candidate: str) -> float:
    words, candidate_words = name.split("_"), candidate.split("_")
    score = difflib.SequenceMatcher(None, name, candidate).ratio()
    if words[-1] == candidate_words[-1]:
        score += 0.5
    elif set(words) & set(candidate_words):
        score += 0.1
    if candidate.startswith(name) or name.startswith(candidate):
        score += 0.2  # a name cut short: staffing → staffing_category
    return score


def known_fields(model: type[BaseModel], loc: tuple) -> list[str]:
    """The fields of the model that validates the object at ``loc`` (a pydantic error location)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, int) or part not in current.model_fields:
            continue  # a list index, or a marker pydantic puts in locations (a union member)
        current = _model_in(current.model_fields[part].annotation)
    return list(current.model_fields) if current is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside an annotation such as ``Opinion | None`` or ``Annotated[list[Paper], ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _object_at(data: Any, loc: tuple) -> dict | None:
    """The JSON object at ``loc`` in the submitted data (markers in the location are skipped)."""
    for part in loc:
        if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        elif isinstance(data, dict) and part in data:
            data = data[part]
    return data if isinstance(data, dict) else None


def drop_unknown(data: Any, locs: list[tuple]) -> Any:
    """A copy of ``data`` without the fields at ``locs`` (for ``ZC_CONTRACT_UNKNOWN_FIELDS=ignore``)."""
    data = copy.deepcopy(data)
    for loc in locs:
        parent = _object_at(data, loc[:-1])
        if parent is not None:
            parent.pop(loc[-1], None)
    return data


def open_schema(schema: Any) -> Any:
    """``schema`` without ``additionalProperties: false``, for a service that ignores unknown fields."""
    if isinstance(schema, dict):
        return {
            key: open_schema(value)
            for key, value in schema.items()
            if not (key == "additionalProperties" and value is False)
        }
    if isinstance(schema, list):
        return [open_schema(item) for item in schema]
    return schema
