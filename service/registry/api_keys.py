"""API keys: created by the CLI, presented as ``Authorization: Bearer <key>``.

A key reads ``zc_<key_id>_<secret>``. The key id finds the row; only the
SHA-256 of the whole key is stored. Keys carry 256 bits of randomness, so a
fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.registry.models import ApiKey

ROLES = ("platform", "staff", "admin")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, role: str, now: datetime, label: str | None = None) -> str:
    """Add a key and return it in clear: the only time it is ever shown."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    key_id = secrets.token_hex(6)
    key = f"zc_{key_id}_{secrets.token_urlsafe(32)}"
    session.add(ApiKey(key_id=key_id, key_hash=_digest(key), role=role, label=label, created_at=now))
    return key


def find_api_key(session: Session, presented: str) -> ApiKey | None:
    """The active key matching ``presented``, or None."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != "zc":
        return None
    row = session.scalars(select(ApiKey).where(ApiKey.key_id == parts[1])).first()
    if row is None or row.revoked_at is not None:
        return None
    return row if hmac.compare_digest(row.key_hash, _digest(presented)) else None


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_api_key(session: Session, key_id: str, now: datetime) -> bool:
    row = session.scalars(select(ApiKey).where(ApiKey.key_id == key_id, ApiKey.revoked_at.is_(None))).first()
    if row is None:
        return False
    row.revoked_at = now
    return True
