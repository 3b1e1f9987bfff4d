"""Rendered forms by what they were rendered from: a repeated export or preview is a lookup.

Output is deterministic (the same payload, profile, templates, fonts and settings give the
same bytes), so a document can be kept under the hash of all of that and served again
without a worker: the key is SHA-256 over the request as received (form, body, upload,
format, page) and the service's *fingerprint* — the settings, the province profile, and
the name, size and modification time of every file of the templates, the fonts and the
service's own code. A change to any of them is a new fingerprint: every older entry is
a miss from then on (and ages out).

The entries are files in ``<data>/render-cache`` (shared by a service's processes, written
to a temporary name and renamed, so a reader never sees half a file), their total bounded
(``ZC_RENDER_CACHE_MB``): past the bound the least recently used go (a hit touches its
file). A payload that does not validate is never cached: the worker's 422 is rendered
each time, cheaply.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from service.forms.produce import Document, FormSource

log = logging.getLogger(__name__)

_MAGIC = b"ZCRC1"
_MEDIA = {"application/pdf": b"P", "image/png": b"G"}
_MEDIA_OF = {code: media for media, code in _MEDIA.items()}
KEEP_SHARE = 0.8  # an eviction keeps this share of the bound, so that it is not run on every put


class RenderCache:
    def __init__(self, directory: Path, max_bytes: int, fingerprint: str):
        self.directory = directory
        self.max_bytes = max_bytes
        self.fingerprint = fingerprint
        self._bytes: int | None = None  # this process's estimate of the total; scanned when unknown

    def key(self, slug: str, source: FormSource, fmt: str, page: int) -> str:
        """The entry of one request: everything its document depends on."""
        digest = hashlib.sha256(self.fingerprint.encode())
        parts = (slug, source.kind, source.filename, fmt, str(page if fmt == "png" else 0))
        for part in (*(p.encode() for p in parts), source.meta, source.body):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.hexdigest()

    def get(self, key: str) -> Document | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
            os.utime(path)  # recently used: evicted last
        except OSError:
            return None
        header, _, content = data.partition(b"\n")
        fields = header.split(b" ")
        if len(fields) != 3 or fields[0] != _MAGIC or fields[1] not in _MEDIA_OF or not fields[2].isdigit():
            return None  # not an entry this version wrote: a miss
        return Document(content, _MEDIA_OF[fields[1]], int(fields[2]))

    def put(self, key: str, document: Document) -> None:
        """Keep ``document``; a full disk or a read-only folder costs the cache, never the answer."""
        path = self._path(key)
        header = b"%s %s %d\n" % (_MAGIC, _MEDIA[document.media_type], document.page_count)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(header + document.content)
            os.replace(temporary, path)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            log.warning("render cache: %s not kept (%s)", key[:12], exc)
            return
        self._bytes = (self._scan_total() if self._bytes is None else self._bytes) + len(header) + len(document.content)
        if self._bytes > self.max_bytes:
            self._bytes = self._evict()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / key

    def _entries(self) -> Iterable[os.DirEntry]:
        try:
            folders = list(os.scandir(self.directory))
        except OSError:
            return
        for folder in folders:
            if folder.is_dir():
                try:
                    yield from (entry for entry in os.scandir(folder.path) if entry.is_file())
                except OSError:
                    continue

    def _scan_total(self) -> int:
        return sum(entry.stat().st_size for entry in self._entries())

    def _evict(self) -> int:
        """Remove the least recently used entries down to ``KEEP_SHARE`` of the bound; the total left."""
        entries = sorted(((e.stat().st_mtime_ns, e.stat().st_size, e.path) for e in self._entries()), reverse=True)
        total, keep = 0, self.max_bytes * KEEP_SHARE
        for _, size, path in entries:
            if total + size <= keep:
                total += size
                continue
            try:
                os.unlink(path)
            except OSError:
                total += size  # another process removed or holds it: counted as kept
        return total


def fingerprint(settings_json: str, profile_json: str, folders: Iterable[Path]) -> str:
    """What every rendered document depends on besides its request: the settings, the
    profile, and each file of ``folders`` (templates, fonts, the service's code) by name,
    size and modification time."""
    digest = hashlib.sha256()
    digest.update(settings_json.encode())
    digest.update(profile_json.encode())
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                stat = path.stat()
                digest.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
