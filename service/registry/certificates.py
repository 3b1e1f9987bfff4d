"""Repository functions for certificates, their events and number sequences.

None of them commits: the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.observability.context import current_request_id
from service.registry.models import Certificate, CertificateEvent, IssueClaim, NumberEvent, NumberSequence


def next_sequence(session: Session, committee_code: str, year: int) -> int:
    """The next sequence number for a committee and year, atomically.

    One upsert statement: concurrent callers each get a distinct value (the
    row lock in PostgreSQL, the write lock in SQLite), and a value handed out
    is never handed out again, even if its certificate is never made."""
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:
        raise RuntimeError(f"number sequences need PostgreSQL or SQLite, not {dialect}")
    statement = (
        insert(NumberSequence)
        .values(committee_code=committee_code, year=year, last_value=1)
        .on_conflict_do_update(  # type: ignore[attr-defined]  # both dialects' Insert have it; mypy joins them to the base Insert
            index_elements=[NumberSequence.committee_code, NumberSequence.year],
            set_={"last_value": NumberSequence.last_value + 1},
        )
        .returning(NumberSequence.last_value)
    )
    return session.execute(statement).scalar_one()


def current_version(session: Session, number: str) -> Certificate | None:
    """The newest version of a certificate number."""
    return session.scalars(
        select(Certificate).where(Certificate.number == number).order_by(Certificate.version.desc()).limit(1)
    ).first()


def get_version(session: Session, number: str, version: int) -> Certificate | None:
    return session.scalars(
        select(Certificate).where(Certificate.number == number, Certificate.version == version)
    ).first()


def versions_of(session: Session, number: str) -> list[Certificate]:
    return list(session.scalars(select(Certificate).where(Certificate.number == number).order_by(Certificate.version)))


def find_by_token(session: Session, token: str) -> Certificate | None:
    return session.scalars(select(Certificate).where(Certificate.token == token)).first()


def find_by_token_row(connection: Session | Connection, token: str):
    """The same as ``find_by_token`` as a plain row (attribute access, no ORM identity):
    the public scan page's one read, where the ORM's bookkeeping is most of the cost."""
    return connection.execute(_BY_TOKEN, {"token": token}).first()


_BY_TOKEN = select(Certificate.__table__).where(Certificate.token == bindparam("token"))


def by_idempotency_key(session: Session, scoped_key: str) -> Certificate | None:
    """Version 1 of the certificate issued under ``scoped_key`` ("<api key id>:<key>")."""
    return session.scalars(select(Certificate).where(Certificate.idempotency_key == scoped_key)).first()


def by_declaration(session: Session, declaration_id: str) -> Certificate | None:
    """Version 1 of the certificate issued for ``declaration_id``."""
    return session.scalars(
        select(Certificate).where(Certificate.declaration_id == declaration_id, Certificate.version == 1)
    ).first()


def take_claim(session: Session, declaration_id: str, issued_by: str, request_sha256: str, now: datetime) -> None:
    """Claim ``declaration_id`` for issuing; the caller's commit fails (IntegrityError) when
    another request holds it."""
    session.add(
        IssueClaim(declaration_id=declaration_id, issued_by=issued_by, request_sha256=request_sha256, created_at=now)
    )
    session.flush()


def get_claim(session: Session, declaration_id: str) -> IssueClaim | None:
    return session.get(IssueClaim, declaration_id)


def drop_claim(session: Session, declaration_id: str) -> None:
    session.execute(delete(IssueClaim).where(IssueClaim.declaration_id == declaration_id))


def holder_certificates(session: Session, id_number: str) -> list[Certificate]:
    """A holder's certificates, newest version of each, newest first."""
    rows = session.scalars(
        select(Certificate)
        .where(Certificate.holder_id_number == id_number)
        .order_by(Certificate.number, Certificate.version.desc())
    ).all()
    newest: dict[str, Certificate] = {}
    for row in rows:
        newest.setdefault(row.number, row)
    return sorted(newest.values(), key=lambda c: (c.issue_date, c.number), reverse=True)


def add_event(
    session: Session,
    certificate: Certificate,
    action: str,
    actor: str,
    at: datetime,
    reason: str | None = None,
    details: dict | None = None,
) -> CertificateEvent:
    """An audit event; its details carry the request id of the work at hand (the HTTP
    request, or the request that created a batch job), joining it to the logs."""
    request_id = current_request_id()
    if request_id is not None:
        details = {**(details or {}), "request_id": request_id}
    event = CertificateEvent(
        certificate_id=certificate.id,
        number=certificate.number,
        version=certificate.version,
        action=action,
        actor=actor,
        reason=reason,
        details=details,
        at=at,
    )
    session.add(event)
    return event


def add_number_event(
    session: Session, number: str, action: str, actor: str, at: datetime, reason: str | None = None
) -> NumberEvent:
    event = NumberEvent(number=number, action=action, actor=actor, reason=reason, at=at)
    session.add(event)
    return event


def events_of(session: Session, number: str) -> list[CertificateEvent]:
    return list(
        session.scalars(select(CertificateEvent).where(CertificateEvent.number == number).order_by(CertificateEvent.id))
    )
