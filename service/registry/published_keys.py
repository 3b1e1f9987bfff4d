"""Repository of the published payload keys and of what the status list lists (never commits)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.offline.lists import KeyEntry
from service.registry.models import Certificate, PublishedKey


def record_key(session: Session, entry: KeyEntry, now: datetime) -> PublishedKey:
    """Publish ``entry`` unless it is already (a key is recorded once, with its first use)."""
    row = session.get(PublishedKey, entry.kid)
    if row is None:
        row = PublishedKey(
            kid=entry.kid,
            org_code=entry.org,
            org_name=entry.org_name,
            role=entry.role,
            alg=entry.alg,
            jwk=entry.jwk,
            valid_from=datetime.fromisoformat(entry.valid_from),
            valid_to=datetime.fromisoformat(entry.valid_to),
            first_used_at=now,
        )
        session.add(row)
    return row


def list_keys(session: Session) -> list[PublishedKey]:
    return list(session.scalars(select(PublishedKey).order_by(PublishedKey.org_code, PublishedKey.valid_from)))


def get_key(session: Session, kid: str) -> PublishedKey | None:
    return session.get(PublishedKey, kid)


def invalidate_key(session: Session, kid: str, after: date) -> PublishedKey | None:
    row = session.get(PublishedKey, kid)
    if row is not None:
        row.invalidated_after = after
    return row


def entry_of(row: PublishedKey) -> KeyEntry:
    return KeyEntry(
        kid=row.kid,
        alg=row.alg,
        org=row.org_code,
        org_name=row.org_name,
        role=row.role,
        jwk=dict(row.jwk),
        valid_from=_utc_iso(row.valid_from),
        valid_to=_utc_iso(row.valid_to),
        invalidated_after=row.invalidated_after.isoformat() if row.invalidated_after else None,
    )


def ended_versions(session: Session) -> list[tuple[str, int, str]]:
    """(number, version, status) of every revoked or superseded version."""
    rows = session.execute(
        select(Certificate.number, Certificate.version, Certificate.status).where(
            Certificate.status.in_(("revoked", "superseded"))
        )
    )
    return [(number, version, status) for number, version, status in rows]


def _utc_iso(moment: datetime) -> str:
    # SQLite hands timezone-aware columns back naive (in UTC, as they were written)
    return moment.isoformat() if moment.tzinfo else moment.isoformat() + "+00:00"
