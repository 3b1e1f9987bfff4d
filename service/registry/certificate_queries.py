"""Finding certificates by what a flow knows of them: their file, their identifier, the
work they wait for (seals, renewal). Only current versions where it says so (a reissued
certificate's earlier versions are history). None of them commits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, extract, func, select
from sqlalchemy.orm import Session, aliased

from service.registry.models import Certificate


def by_ofd_file(session: Session, ofd_sha256: str) -> Certificate | None:
    """The version whose OFD twin has these bytes."""
    return session.scalars(select(Certificate).where(Certificate.ofd_sha256 == ofd_sha256).limit(1)).first()


def by_file(session: Session, pdf_sha256: str) -> Certificate | None:
    """The certificate (any version) whose file has this SHA-256. LIMIT 1: ``first()`` alone
    has the driver fetch every match (psycopg holds a whole result), and nothing makes a
    file's hash unique to one row (a registry restored twice, rows copied by hand)."""
    return session.scalars(select(Certificate).where(Certificate.pdf_sha256 == pdf_sha256).limit(1)).first()


def by_identifier(session: Session, identifier: str) -> Certificate | None:
    return session.scalars(select(Certificate).where(Certificate.identifier == identifier).limit(1)).first()


def holder_names(session: Session, numbers: Iterable[str]) -> dict[str, str]:
    """number → the holder's name, for the certificates named."""
    rows = session.execute(
        select(Certificate.number, Certificate.holder_name).where(Certificate.number.in_(list(numbers)))
    )
    return {number: name for number, name in rows}


def _current_versions():
    newer = aliased(Certificate)
    return select(Certificate).where(
        ~select(newer.id).where(and_(newer.number == Certificate.number, newer.version > Certificate.version)).exists()
    )


def pending_seal_numbers(
    session: Session, committee: str | None = None, issuer: str | None = None, year: int | None = None
) -> list[str]:
    """Current certificates waiting for their seals, by committee, issuer and issue year."""
    query = _current_versions().where(Certificate.status == "pending_seal")
    if committee:
        query = query.where(Certificate.committee_code == committee)
    if issuer:
        query = query.where(Certificate.issuer_code == issuer)
    if year:
        query = query.where(extract("year", Certificate.issue_date) == year)
    return list(session.scalars(query.with_only_columns(Certificate.number).order_by(Certificate.number)))


def due_for_renewal(session: Session, due_by: datetime, levels: list[str]) -> list[str]:
    """Current certificates sealed at one of ``levels`` whose timestamps expire by
    ``due_by``, or whose expiry is not recorded yet (the item reads it from the file and
    skips one not due)."""
    query = _current_versions().where(
        Certificate.seal_level.in_(levels),
        Certificate.status == "valid",
        (Certificate.archive_until.is_(None)) | (Certificate.archive_until <= due_by),
    )
    return list(session.scalars(query.with_only_columns(Certificate.number).order_by(Certificate.number)))


def pending_seal_counts(session: Session) -> list[tuple[str, str, int, int]]:
    """(committee, issuer, issue year, how many) of current certificates waiting for seals."""
    current = _current_versions().where(Certificate.status == "pending_seal").subquery()
    year = extract("year", current.c.issue_date)
    rows = session.execute(
        select(current.c.committee_code, current.c.issuer_code, year, func.count())
        .group_by(current.c.committee_code, current.c.issuer_code, year)
        .order_by(current.c.committee_code, year)
    ).all()
    return [(committee, issuer, int(y), count) for committee, issuer, y, count in rows]
