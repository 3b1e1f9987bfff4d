"""Sealing organisations: add, find, list, change key source or seal image.

The key source is stored as a JSON object (see :mod:`service.sealing.orgs` for its shape); this
module only checks what the table itself must guarantee. Never commits.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.errors import Conflict, FieldError, InvalidInput, NotFound
from service.registry.models import Organisation

ROLES = ("committee", "issuer")
KEY_KINDS = ("dev", "pem", "pkcs12", "pkcs11")
# Codes name files (keys/seals/<code>.*, seals/<code>.png): letters, digits, _ . - only.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def add_org(
    session: Session,
    code: str,
    name: str,
    role: str,
    now: datetime,
    *,
    key_source: dict | None = None,
    seal_image_path: str | None = None,
    seal_bottom_text: str | None = None,
) -> Organisation:
    """Add an organisation; ``Conflict`` if the code is taken."""
    code, name = code.strip(), name.strip()
    if not CODE_PATTERN.match(code) or code.startswith("."):
        message = "机构代码只能由 1-64 个字母、数字、'_'、'.'、'-' 组成，且不能以 '.' 开头"
        raise InvalidInput(message, errors=[FieldError("code", message, "org_code")])
    if not name or len(name) > 200:
        message = "机构名称应为 1-200 个字符"
        raise InvalidInput(message, errors=[FieldError("name", message, "org_name")])
    _check_role(role)
    _check_key_source(key_source)
    _check_bottom_text(seal_bottom_text)
    if get_org(session, code) is not None:
        raise Conflict(f"机构 {code} 已存在（organisation exists）")
    org = Organisation(
        code=code,
        name=name,
        role=role,
        key_source=key_source,
        seal_image_path=seal_image_path,
        seal_bottom_text=seal_bottom_text,
        active=True,
        created_at=now,
    )
    session.add(org)
    session.flush()
    return org


def get_org(session: Session, code: str) -> Organisation | None:
    return session.scalars(select(Organisation).where(Organisation.code == code)).first()


def list_orgs(session: Session, active_only: bool = False) -> list[Organisation]:
    query = select(Organisation).order_by(Organisation.role, Organisation.code)
    if active_only:
        query = query.where(Organisation.active.is_(True))
    return list(session.scalars(query))


def update_key_source(session: Session, code: str, key_source: dict | None, now: datetime) -> Organisation:
    """Replace the key source (``None``: the organisation has no key any more)."""
    _check_key_source(key_source)
    org = _require(session, code)
    org.key_source = key_source
    org.updated_at = now
    return org


def update_seal_image(
    session: Session, code: str, now: datetime, *, path: str | None, bottom_text: str | None
) -> Organisation:
    """Use a supplied PNG (``path`` relative to the data dir) or, with ``path=None``, a
    seal drawn from the name and ``bottom_text``."""
    _check_bottom_text(bottom_text)
    org = _require(session, code)
    org.seal_image_path = path
    org.seal_bottom_text = bottom_text
    org.updated_at = now
    return org


def set_org_active(session: Session, code: str, active: bool, now: datetime) -> Organisation:
    org = _require(session, code)
    org.active = active
    org.updated_at = now
    return org


def _require(session: Session, code: str) -> Organisation:
    org = get_org(session, code)
    if org is None:
        raise NotFound(f"没有代码为 {code} 的机构（no organisation）")
    return org


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput(f"未知角色 {role!r}：应为 committee（评委会）或 issuer（发证机关）")


def _check_key_source(key_source: dict | None) -> None:
    if key_source is not None and key_source.get("kind") not in KEY_KINDS:
        raise InvalidInput(f"未知密钥来源 {key_source.get('kind')!r}：应为 {'、'.join(KEY_KINDS)} 之一")


def _check_bottom_text(text: str | None) -> None:
    # the line under the star holds a dozen characters at most before it turns illegible
    if text is not None and len(text) > 20:
        raise InvalidInput(f"印章下弧文字 {text!r} 超过 20 个字符")


def orgs_version(session: Session) -> tuple:
    """Changes whenever an organisation is added or changed (its key, seal image or
    status): what a running service compares to know its seals are out of date."""
    newest = func.max(func.coalesce(Organisation.updated_at, Organisation.created_at))
    return tuple(session.execute(select(func.count(Organisation.id), newest)).one())
