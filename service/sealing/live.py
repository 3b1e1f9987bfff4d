"""The seals as the registry has them now: an organisation added or given a key
(``python -m service orgs add|update``, the admin API) seals the next certificate
without a restart.

``LiveSealers`` looks at the registry's organisations version at most every
``ZC_ORGS_CHECK_SECONDS`` and rebuilds its :class:`SealerPool` when it changed. A
rebuild that fails (a key that does not open) keeps the pool it had and says why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.documents.certificate_layout import SealArea
from service.registry.orgs import orgs_version
from service.sealing.pool import SealerPool
from service.sealing.startup import StartupError, build_sealer_pool
from service.signing.errors import KeySourceError
from service.signing.levels import SealLevel
from service.signing.report import ValidationReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sealed:
    pdf: bytes
    level: str  # a name in service.signing.levels.LEVELS
    archive_until: datetime | None  # B-LTA: when its timestamp's TSA certificate expires


class LiveSealers:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        eager: bool = True,
        build: Callable[[], SealerPool] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        """``eager``: load the seals now (a service's start: a key that does not open stops
        it); otherwise on first use (a worker that may only ever render forms)."""
        self._sessions = sessions
        self._build = build or (lambda: build_sealer_pool(settings, sessions, datetime.now(UTC)))
        self._interval = settings.orgs_check_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._pool: SealerPool | None = None
        self._retired: list[SealerPool] = []
        self.last_error: str | None = None
        if eager:
            self._load()

    def current(self) -> SealerPool:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._load()
        elif self._clock() - self._checked >= self._interval:
            self._refresh(force=False)
        return self._loaded()

    def _loaded(self) -> SealerPool:
        pool = self._pool
        assert pool is not None  # set by the first _load(), and only ever replaced after it
        return pool

    def _load(self) -> None:
        self._version = self._read_version()
        self._pool = self._build()
        self._checked = self._clock()

    def reload(self) -> SealerPool:
        """Rebuild now (the admin API's reload); raises ``StartupError`` if it cannot."""
        self._refresh(force=True, strict=True)
        return self._loaded()

    def _refresh(self, force: bool, strict: bool = False) -> None:
        with self._lock:
            if self._pool is None:
                self._load()
                return
            self._checked = self._clock()
            version = self._read_version()
            if version == self._version and not force:
                return
            try:
                pool = self._build()
            except StartupError as exc:
                self.last_error = str(exc)
                log.error("organisations changed but their seals cannot be loaded; sealing as before: %s", exc)
                if strict:
                    raise
                return
            # The old pool may be sealing on another thread: closed at shutdown, not now.
            self._retired.append(self._pool)
            self._pool, self._version, self.last_error = pool, version, None
            log.info("organisations changed: sealing with %s", ", ".join(pool.codes()) or "no keys")

    def _read_version(self) -> tuple:
        with self._sessions() as session:
            return orgs_version(session)

    # --- the pool's calls, on the current pool -------------------------------------------

    @property
    def level(self) -> SealLevel:
        return self.current().level

    def has_key(self, code: str) -> bool:
        """Whether ``code`` can seal now. A key not loaded here may have been given a
        moment ago (another process's admin call): the registry is asked before saying no,
        so that a worker loaded earlier does not fail a job for ``orgs_check_seconds``."""
        if self.current().has_key(code):
            return True
        self._refresh(force=False)
        return self._loaded().has_key(code)

    def codes(self) -> list[str]:
        return self.current().codes()

    def seal(self, pdf: bytes, committee_code: str, issuer_code: str, areas: Sequence[SealArea]) -> Sealed:
        """Both seals on ``pdf``, with the keys as they are now. A key token that failed (taken
        out, its session gone stale) is opened again once, in case it is back; if it is not,
        ``KeySourceError`` (503: try later) and nothing is sealed."""
        pool = self.current()
        try:
            sealed = pool.seal(pdf, committee_code, issuer_code, areas)
        except KeySourceError as first:
            log.error("a seal key failed (%s); opening the keys again", first)
            try:
                pool = self.reload()
            except StartupError as exc:
                raise KeySourceError(f"{first}; the keys cannot be opened again yet: {exc}") from exc
            sealed = pool.seal(pdf, committee_code, issuer_code, areas)
        return Sealed(sealed, pool.level.name, pool.archive_until if pool.level.archive_timestamp else None)

    async def async_seal(self, pdf: bytes, committee_code: str, issuer_code: str, areas: Sequence[SealArea]) -> bytes:
        return await self.current().async_seal(pdf, committee_code, issuer_code, areas)

    def add_archive_timestamp(self, pdf: bytes) -> bytes:
        return self.current().add_archive_timestamp(pdf)

    def validate(self, pdf: bytes, strict: bool = False, at: datetime | None = None) -> ValidationReport:
        return self.current().validate(pdf, strict=strict, at=at)

    async def async_validate(self, pdf: bytes, strict: bool = False, at: datetime | None = None) -> ValidationReport:
        return await self.current().async_validate(pdf, strict=strict, at=at)

    def close(self) -> None:
        for pool in (*self._retired, *([self._pool] if self._pool else [])):
            pool.close()
        self._retired.clear()
