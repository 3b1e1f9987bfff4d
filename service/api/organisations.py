"""``/api/v1/organisations``: the sealing organisations (评委会, 发证机关) for
administrators, next to ``python -m service orgs``. Changes reach the running service's
seals within ``ZC_ORGS_CHECK_SECONDS``; ``POST .../reload`` applies them at once.

Key files and tokens stay on the server: a key source names paths and the *name* of the
environment variable holding a passphrase or PIN, never the secret.
"""

from __future__ import annotations

import base64
import binascii
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, field_validator

from service.api.deps import ServicesDep, require_role
from service.api.strict_body import StrictJsonRoute
from service.documents.seal_image import SealImageError
from service.errors import FieldError, InvalidInput, Unavailable
from service.registry.models import Organisation
from service.registry.orgs import list_orgs
from service.sealing.orgs import DEV_KEY, OrgChange, add_organisation, seal_image_label, update_organisation
from service.sealing.startup import StartupError
from service.signing.devpki import name_problem
from service.signing.errors import KeySourceError

router = APIRouter(
    prefix="/api/v1/organisations",
    tags=["admin"],
    dependencies=[Depends(require_role("admin"))],
    route_class=StrictJsonRoute,
)
EnvName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100, description="保存口令或 PIN 的环境变量名（不是口令本身）"
    ),
]


class KeySourceIn(BaseModel):
    kind: Literal["dev", "pem", "pkcs12", "pkcs11"]
    key_path: str | None = Field(None, max_length=500)
    cert_path: str | None = Field(None, max_length=500)
    chain_path: str | None = Field(None, max_length=500)
    module_path: str | None = Field(None, max_length=500)
    token_label: str | None = Field(None, max_length=100)
    key_label: str | None = Field(None, max_length=100)
    cert_label: str | None = Field(None, max_length=100)
    secret_env: EnvName | None = None

    def stored(self) -> dict:
        return self.model_dump(exclude_none=True)


class SealImage(BaseModel):
    png_base64: Annotated[str, Field(min_length=1, max_length=2_000_000, description="透明背景的 PNG 印章图片")]

    def content(self) -> bytes:
        try:
            return base64.b64decode(self.png_base64, validate=True)
        except (binascii.Error, ValueError):
            message = "印章图片不是合法的 Base64 编码"
            raise InvalidInput(message, errors=[FieldError("seal_image.png_base64", message, "base64")]) from None


class NewOrganisation(BaseModel):
    code: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=200)]

    @field_validator("name")
    @classmethod
    def _fits_a_certificate(cls, name: str) -> str:
        char = name_problem(name)
        if char is not None:
            raise ValueError(f"机构名称含有数字证书无法写入的字符 {char}（未分配或被禁止的码位），请改用规范汉字")
        return name

    role: Literal["committee", "issuer"]
    key_source: KeySourceIn | None = Field(None, description="省略：开发密钥（仅开发用 PKI 开启时）；无密钥请用 no_key")
    no_key: bool = False
    seal_image: SealImage | None = None
    seal_bottom_text: Annotated[str | None, Field(max_length=20)] = None


class OrganisationChange(BaseModel):
    key_source: KeySourceIn | None = None
    no_key: bool = False
    seal_image: SealImage | None = None
    seal_bottom_text: Annotated[str | None, Field(max_length=20)] = None
    generated_seal: bool = False
    active: bool | None = None


def organisation_json(org: Organisation) -> dict:
    key = org.key_source or None
    return {
        "code": org.code,
        "name": org.name,
        "role": org.role,
        "active": org.active,
        "key_source": key,
        "seal_image": seal_image_label(org),
        "updated_at": (org.updated_at or org.created_at).isoformat(),
    }


@router.get("", summary="列出签章机构（评委会、发证机关）")
def list_organisations(services: ServicesDep) -> list[dict]:
    with services.sessions() as session:
        return [organisation_json(org) for org in list_orgs(session)]


@router.post("", status_code=201, summary="新增签章机构")
async def add(body: NewOrganisation, services: ServicesDep) -> dict:
    if body.key_source is not None:
        key = body.key_source.stored()
    elif body.no_key:
        key = None
    elif services.settings.dev_pki:
        key = dict(DEV_KEY)
    else:
        message = "未提供密钥：开发用 PKI 已关闭（ZC_DEV_PKI=false），请提供 key_source，或设置 no_key"
        raise InvalidInput(message, errors=[FieldError("key_source", message, "missing")])
    with _refusals():
        org = await run_in_threadpool(
            add_organisation,
            services.settings,
            services.sessions,
            code=body.code,
            name=body.name,
            role=body.role,
            key_source=key,
            seal_png=body.seal_image.content() if body.seal_image else None,
            seal_bottom_text=body.seal_bottom_text,
            now=datetime.now(UTC),
        )
    return organisation_json(org)


@router.patch("/{code}", summary="更换机构的密钥、印章图片或启用状态")
async def update(code: str, body: OrganisationChange, services: ServicesDep) -> dict:
    change = OrgChange(
        key_source=body.key_source.stored() if body.key_source else None,
        remove_key=body.no_key,
        seal_png=body.seal_image.content() if body.seal_image else None,
        seal_bottom_text=body.seal_bottom_text,
        generated_seal=body.generated_seal,
        active=body.active,
    )
    with _refusals():
        org = await run_in_threadpool(
            update_organisation, services.settings, services.sessions, code, change, datetime.now(UTC)
        )
    return organisation_json(org)


@contextmanager
def _refusals():
    """A key that does not open or a seal image that is not usable: the caller's input."""
    try:
        yield
    except KeySourceError as exc:
        message = f"密钥无法打开：{exc}"
        raise InvalidInput(message, errors=[FieldError("key_source", message, "key_source")]) from None
    except SealImageError as exc:
        message = f"印章图片不可用：{exc}"
        raise InvalidInput(message, errors=[FieldError("seal_image", message, "seal_image")]) from None


@router.post("/reload", summary="立即按登记重新加载印章（否则数秒内自动生效）")
async def reload(services: ServicesDep) -> dict:
    try:
        pool = await run_in_threadpool(services.sealers.reload)
    except StartupError as exc:
        raise Unavailable(f"印章无法加载，仍按原有印章签章：{exc}", headers={"Retry-After": "60"}) from None
    return {"sealing": pool.codes(), "level": pool.level.name}
