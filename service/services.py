"""``Services``: what the application builds once at start-up and every flow shares.

Built by :func:`build_services` (in the service process and in each worker), never at import time;
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
from service.certificates.configured import check_configured_certificate
from service.certificates.identifiers import validate_pattern
from service.registry.db import make_engine, open_registry, session_factory
from service.sealing.live import LiveSealers
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
    sealers: LiveSealers
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


def build_services(settings: Settings, *, migrate: bool = True) -> Services:
    """Everything the flows share. With the embedded default (``ZC_DEV_PKI``) this also
    creates the development PKI and the contract's two organisations on first start.
    ``migrate=False``: a worker process, whose service has migrated the registry already."""
    validate_pattern(settings.number_pattern)
    check_configured_certificate(settings)
    sessions = open_registry(settings) if migrate else session_factory(make_engine(settings.registry_url))
    return Services(
        settings=settings,
        sessions=sessions,
        renderer=Renderer(settings.templates_dir, settings.fonts_dir, max_pages=settings.limits.max_pages),
        sealers=LiveSealers(settings, sessions),
        files=FileStore(settings.files_dir),
        pages=Pages(settings.templates_dir),
        limiter=RateLimiter(settings.verify_rate_per_minute, settings.verify_burst),
        scan_cache=ScanCache(settings.scan_cache_seconds),
    )
