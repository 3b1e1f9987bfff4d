"""Staff sign-ins to the staff pages. The cookie holds a random token; only its SHA-256 is
kept, with the key it was made from and the CSRF token of its forms. Never commits."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.registry.models import ApiKey, StaffSession


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, key: ApiKey, now: datetime, lifetime: timedelta) -> tuple[str, str]:
    """A new sign-in: (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.execute(delete(StaffSession).where(StaffSession.expires_at < now))  # old ones go as new ones come
    session.add(
        StaffSession(token_hash=_digest(token), key_id=key.key_id, csrf=csrf, created_at=now, expires_at=now + lifetime)
    )
    return token, csrf


def find_session(session: Session, token: str, now: datetime) -> tuple[StaffSession, ApiKey] | None:
    """The live sign-in of ``token`` and its key (still active, still staff or admin)."""
    row = session.execute(
        select(StaffSession, ApiKey)
        .join(ApiKey, ApiKey.key_id == StaffSession.key_id)
        .where(StaffSession.token_hash == _digest(token))
    ).first()
    if row is None:
        return None
    staff, key = row
    expires = staff.expires_at if staff.expires_at.tzinfo else staff.expires_at.replace(tzinfo=now.tzinfo)
    if expires < now or key.revoked_at is not None or key.role not in ("staff", "admin"):
        return None
    return staff, key


def close_session(session: Session, token: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(token)))
