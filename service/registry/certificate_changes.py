"""The conditional changes of a certificate that make batch work exactly-once.

Each is one ``UPDATE ... WHERE`` whose condition is the state the change starts from
(``pending_seal``; the file it renews): of two workers that got the same item (a lease
taken over from a worker that was only slow), one changes the row and the other changes
nothing, and each learns which from the row count. The caller runs it in the transaction
that finishes the batch item and writes the audit event, so a crash leaves both or
neither. None of them commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from service.registry.models import Certificate


def mark_sealed(
    session: Session,
    certificate_id: int,
    *,
    pdf_sha256: str,
    pdf_size: int,
    seal_level: str,
    sealed_at: datetime,
    archive_until: datetime | None,
    offline_payload: str | None = None,
    offline_kid: str | None = None,
    ofd_sha256: str | None = None,
    ofd_size: int | None = None,
) -> bool:
    """``pending_seal`` → ``valid`` with the sealed file, the offline payload its QR code
    carries and its OFD twin; False if it was sealed already."""
    statement = (
        update(Certificate)
        .where(Certificate.id == certificate_id, Certificate.status == "pending_seal")
        .values(
            status="valid",
            pdf_sha256=pdf_sha256,
            pdf_size=pdf_size,
            seal_level=seal_level,
            sealed_at=sealed_at,
            archive_until=archive_until,
            seal_summary=None,
            seal_checked_at=None,
            public_pdf_sha256=None,
            offline_payload=offline_payload,
            offline_kid=offline_kid,
            ofd_sha256=ofd_sha256,
            ofd_size=ofd_size,
        )
    )
    return session.execute(statement).rowcount == 1  # type: ignore[attr-defined]  # CursorResult has rowcount; SQLAlchemy types execute() as Result


def replace_renewed_file(
    session: Session,
    certificate_id: int,
    *,
    old_sha256: str,
    pdf_sha256: str,
    pdf_size: int,
    archive_until: datetime | None,
) -> bool:
    """The file ``old_sha256`` → its renewal; False if another worker renewed it first."""
    statement = (
        update(Certificate)
        .where(Certificate.id == certificate_id, Certificate.pdf_sha256 == old_sha256)
        .values(
            pdf_sha256=pdf_sha256,
            pdf_size=pdf_size,
            archive_until=archive_until,
            seal_summary=None,
            seal_checked_at=None,
        )
    )
    return session.execute(statement).rowcount == 1  # type: ignore[attr-defined]  # CursorResult has rowcount; SQLAlchemy types execute() as Result


def record_archive_until(session: Session, certificate_id: int, until: datetime) -> None:
    """When the newest timestamp's TSA certificate expires, as read from the file."""
    session.execute(update(Certificate).where(Certificate.id == certificate_id).values(archive_until=until))
