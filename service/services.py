"""``Services``: what the application builds once at start-up and every flow shares.

Built by :func:`service.app.build_services` (or a batch worker), never at import time;
the flows take it as their first argument, the routes get it from the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from service.certificates.filestore import FileStore
from service.config import Settings
from service.documents.render import Renderer
from service.sealing.pool import SealerPool
from service.verification.pages import Pages
from service.verification.ratelimit import RateLimiter
from service.verification.scan_cache import ScanCache


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    sessions: sessionmaker[Session]
    renderer: Renderer
    # every active organisation's key, seal image and style, the TSA and the trust
    sealers: SealerPool
    files: FileStore
    pages: Pages
    limiter: RateLimiter
    # QR scan answers for a few seconds (service.api.verify)
    scan_cache: ScanCache
    clock: Callable[[], datetime] = field(default=utc_now)

    def close(self) -> None:
        """Release keys (tokens, sessions) and database connections."""
        self.sealers.close()
        self.sessions.kw["bind"].dispose()
