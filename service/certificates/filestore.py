"""Content-addressed stores for certificate PDFs and photos: a folder under the data dir
(the embedded default) or the registry's database.

A file's name is its SHA-256, so storing is idempotent, a file never changes
once written, and the registry's hash is the proof of what was issued.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.errors import StorageUnavailable
from service.registry import files as files_repo
from service.registry.db import transaction


class Files(Protocol):
    """What the flows ask of a file store, whichever keeps the bytes (``ZC_FILE_STORE``)."""

    def put(self, data: bytes) -> str:
        """Store ``data`` (idempotent); its SHA-256, hex."""
        ...

    def get(self, digest: str) -> bytes:
        """The bytes stored under ``digest`` (``FileNotFoundError`` if none)."""
        ...

    def exists(self, digest: str) -> bool: ...


class FileStore:
    """A folder under the data dir (the embedded default)."""

    def __init__(self, root: Path):
        self.root = root

    def path_of(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a SHA-256 digest: {digest!r}")
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        """Store ``data``; returns its SHA-256 (hex). ``StorageUnavailable`` when the disk
        will not take it (full, read-only): the caller records nothing."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_of(digest)
        if path.exists():
            return digest
        try:
            self._write(path, data)
        except OSError as exc:
            raise StorageUnavailable(
                f"证书文件无法保存（{exc.strerror or exc}）：存储空间不足或不可写，请稍后重试",
                headers={"Retry-After": "60"},
            ) from exc
        return digest

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename: a crash never leaves half a file under a digest's name.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def get(self, digest: str) -> bytes:
        return self.path_of(digest).read_bytes()

    def exists(self, digest: str) -> bool:
        return self.path_of(digest).exists()


class DatabaseFileStore:
    """The same store kept in the registry's database (``ZC_FILE_STORE=database``): workers
    on several machines share the PostgreSQL registry but no disk. Each put is its own
    short transaction, committed before the certificate that names it."""

    def __init__(self, sessions: sessionmaker[Session]):
        self._sessions = sessions

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        if self.exists(digest):
            return digest
        try:
            with transaction(self._sessions) as session:
                files_repo.add_file(session, digest, data)
        except IntegrityError:
            pass  # stored at the same moment by another worker: the same bytes
        return digest

    def get(self, digest: str) -> bytes:
        with self._sessions() as session:
            data = files_repo.file_data(session, digest)
        if data is None:
            raise FileNotFoundError(f"no stored file {digest}")
        return data

    def exists(self, digest: str) -> bool:
        with self._sessions() as session:
            return files_repo.has_file(session, digest)
