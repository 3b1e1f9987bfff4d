"""Certificate files kept in the registry's database (``ZC_FILE_STORE=database``), by
SHA-256. None of them commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.registry.models import StoredFile


def add_file(session: Session, sha256: str, data: bytes) -> None:
    session.add(StoredFile(sha256=sha256, size=len(data), data=data))


def file_data(session: Session, sha256: str) -> bytes | None:
    data = session.scalar(select(StoredFile.data).where(StoredFile.sha256 == sha256))
    return None if data is None else bytes(data)


def has_file(session: Session, sha256: str) -> bool:
    return session.scalar(select(StoredFile.sha256).where(StoredFile.sha256 == sha256)) is not None
