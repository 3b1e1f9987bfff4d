"""``/api/v1/api-keys``: key management for administrators."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from service.api.deps import ServicesDep, require_role
from service.api.strict_body import StrictJsonRoute
from service.errors import NotFound
from service.registry.api_keys import create_api_key, list_api_keys, revoke_api_key
from service.registry.db import transaction

router = APIRouter(
    prefix="/api/v1/api-keys",
    tags=["admin"],
    dependencies=[Depends(require_role("admin"))],
    route_class=StrictJsonRoute,
)


class NewKey(BaseModel):
    role: Literal["platform", "staff", "admin"]
    label: Annotated[str | None, Field(max_length=200)] = None


@router.get("", summary="列出 API 密钥（不含密钥本身）")
def list_keys(services: ServicesDep) -> list[dict]:
    with services.sessions() as session:
        return [
            {
                "key_id": k.key_id,
                "role": k.role,
                "label": k.label,
                "created_at": k.created_at,
                "revoked_at": k.revoked_at,
            }
            for k in list_api_keys(session)
        ]


@router.post("", status_code=201, summary="新建 API 密钥（密钥只在此时返回一次）")
def create_key(body: NewKey, services: ServicesDep) -> dict:
    with transaction(services.sessions) as session:
        key = create_api_key(session, body.role, datetime.now(UTC), label=body.label)
    return {"key": key, "role": body.role, "label": body.label}


@router.delete("/{key_id}", status_code=204, summary="停用 API 密钥")
def revoke_key(key_id: str, services: ServicesDep) -> None:
    with transaction(services.sessions) as session:
        if not revoke_api_key(session, key_id, datetime.now(UTC)):
            raise NotFound(f"没有编号为 {key_id} 的有效密钥")
