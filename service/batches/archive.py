"""A job's resulting PDFs as a zip, streamed: written a file at a time into a buffer that
is handed out and emptied, so memory holds one certificate, not the archive."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING

from service.registry import batches as repo
from service.registry import certificate_queries as queries

if TYPE_CHECKING:  # the composition root imports this flow: the type only
    from service.services import Services


class _Spool:
    """A write-only file for ZipFile whose contents are taken out as they come."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._position = 0

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass  # part of what ZipFile asks of a file; it never closes one it was given

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def archive_chunks(services: Services, job_id: str) -> Iterator[bytes]:
    with services.sessions() as session:
        items = repo.results(session, job_id)
        numbers = {i.number for i in items if i.number is not None}
        holders = queries.holder_names(session, numbers)
        session.expunge_all()
    spool = _Spool()
    manifest = []
    stamp = (1980, 1, 1, 0, 0, 0)  # fixed times: the same job gives the same archive
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:  # PDFs are compressed already
        for item in items:
            name = f"{item.number}-v{item.version}.pdf"
            digest = item.pdf_sha256
            assert digest is not None  # repo.results() returns only the items with a file
            archive.writestr(zipfile.ZipInfo(name, stamp), services.files.get(digest))
            manifest.append(
                {
                    "file": name,
                    "number": item.number,
                    "holder": holders.get(item.number) if item.number is not None else None,
                    "version": item.version,
                    "sha256": item.pdf_sha256,
                    "outcome": item.outcome,
                }
            )
            yield spool.take()
        info = zipfile.ZipInfo("manifest.json", stamp)
        body = {"job": job_id, "certificates": manifest}
        archive.writestr(info, json.dumps(body, ensure_ascii=False, indent=2))
    yield spool.take()
