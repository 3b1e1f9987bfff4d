"""``Services``: what the application builds once at start-up and every flow shares.

Built by :func:`build_services` (in the service process and in each worker), never at import time;
the flows take it as their first argument, the routes get it from the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from service.certificates.configured import check_configured_certificate
from service.certificates.filestore import DatabaseFileStore, Files, FileStore
from service.certificates.identifiers import validate_pattern
from service.config import Settings
from service.documents.raster import PageOutOfRange
from service.documents.render import Renderer, TooManyPages
from service.errors import DatabaseUnavailable, FieldError, InvalidInput, ServiceError, TooLarge
from service.forms.catalog import all_forms
from service.forms.render_cache import RenderCache, fingerprint
from service.profiles.load import ProfileError, load_profile
from service.profiles.schema import Profile
from service.registry.db import make_engine, open_registry, read_sessions, session_factory
from service.sealing.live import LiveSealers
from service.sealing.sm2_seals import Sm2Seals
from service.signing.errors import SigningError
from service.signing.patches import install_pyhanko_patches
from service.workers.tasks import WorkerSetup


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    sessions: sessionmaker[Session]
    renderer: Renderer
    # every active organisation's key, seal image and style, the TSA and the trust
    sealers: LiveSealers
    # every organisation's GB/T 38540 seal for the OFD twin, read on first use
    sm2_seals: Sm2Seals
    files: Files  # a folder or the database (ZC_FILE_STORE)
    # the province's words, forms and paper (ZC_PROFILE)
    profile: Profile
    clock: Callable[[], datetime] = field(default=utc_now)
    # Rendered forms by what they were rendered from (a service process's, not a worker's).
    render_cache: RenderCache | None = None
    # One-statement reads in autocommit (registry.db.read_sessions; a pool of their own on PostgreSQL).
    reads: sessionmaker[Session] | None = None

    def read_sessions(self) -> sessionmaker[Session]:
        return self.reads if self.reads is not None else self.sessions

    def read_connection(self) -> Connection:
        """A Core connection for a read of one statement, in autocommit: the scan page's
        read without the ORM session (about 0.35 ms of its 0.8 on PostgreSQL)."""
        return self.read_sessions().kw["bind"].connect()

    def close(self) -> None:
        """Release keys (tokens, sessions) and database connections."""
        self.sealers.close()
        self.sessions.kw["bind"].dispose()
        if self.reads is not None:
            self.reads.kw["bind"].dispose()  # its own pool on PostgreSQL; the same (no-op twice) on SQLite


def build_services(settings: Settings, *, worker: bool = False) -> Services:
    """Everything the flows share. A service's start checks its configuration (number
    pattern, certificate layout), migrates the registry and loads the seals, creating
    the development PKI and the contract's two organisations on first start with the
    embedded default (``ZC_DEV_PKI``). A worker process (``worker=True``), started by such
    a service, skips all that and loads its seals when it first seals."""
    install_pyhanko_patches()  # every process that seals or validates builds its services here
    profile = province_profile(settings)
    settings = settings.with_profile(profile)
    if not worker:
        validate_pattern(settings.number_pattern)
        check_configured_certificate(settings, profile)
    sessions = (
        session_factory(make_engine(settings.registry_url, settings.database_busy_seconds, settings.database_pool_size))
        if worker
        else open_registry(settings)
    )
    return Services(
        settings=settings,
        sessions=sessions,
        renderer=Renderer(settings.templates_dir, settings.fonts_dir, max_pages=settings.limits.max_pages),
        sealers=LiveSealers(settings, sessions, eager=not worker),
        sm2_seals=Sm2Seals(settings, sessions),
        files=DatabaseFileStore(sessions) if settings.file_store == "database" else FileStore(settings.files_dir),
        profile=profile,
        render_cache=None if worker or not settings.render_cache_mb else build_render_cache(settings, profile),
        reads=read_sessions(sessions, settings.database_pool_size),
    )


RENDERING_LIBRARIES = ("weasyprint", "pydyf", "fonttools", "pypdfium2", "pillow", "qrcode", "jinja2", "rjieba")


def build_render_cache(settings: Settings, profile: Profile) -> RenderCache:
    """The cache of rendered forms, keyed by this service's settings, profile, templates,
    fonts and code as they are at start-up."""
    code = Path(__file__).resolve().parent
    # The libraries that lay out, draw and write the documents are part of what they depend on.
    libraries = " ".join(f"{name}={version(name)}" for name in RENDERING_LIBRARIES)
    stamp = fingerprint(
        settings.model_dump_json() + libraries,
        profile.model_dump_json(),
        [settings.templates_dir, settings.fonts_dir, code],
    )
    return RenderCache(settings.render_cache_dir, settings.render_cache_mb * 1024 * 1024, stamp)


def province_profile(settings: Settings) -> Profile:
    """The profile ZC_PROFILE names, validated, its forms known to the service."""
    profile = load_profile(settings.profile, settings.profiles_dir)
    unknown = [slug for slug in profile.forms if slug not in all_forms()]
    if unknown:
        raise ProfileError(
            f"{profile.name}.toml: forms: 未知的表单 {'、'.join(unknown)}（可用：{'、'.join(all_forms())}）"
        )
    return profile


def build_worker_services(settings: Settings) -> Services:
    """A worker process's services (started by a service that has migrated the registry)."""
    return build_services(settings, worker=True)


def translate_error(exc: Exception) -> ServiceError | None:
    """The pure core's own errors (and a registry out of reach) as answers a caller can act on."""
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)):
        return DatabaseUnavailable("数据库暂时不可用，请稍后重试", headers={"Retry-After": "5"})
    if isinstance(exc, TooManyPages):
        message = (
            f"文档排版后共 {exc.pages} 页，超过上限 {exc.limit} 页（ZC_LIMIT_MAX_PAGES）："
            "请拆分后分批提交，或缩短过长的内容"
        )
        return TooLarge(message, errors=[FieldError("(body)", message, "too_many_pages")])
    if isinstance(exc, PageOutOfRange):
        message = f"页码超出范围：文件共 {exc.count} 页"
        return InvalidInput(message, errors=[FieldError("query.page", message, "page_range")])
    return None


# What every worker process is given: the flows its tasks live in are imported once, by
# the fork server, before the first worker starts.
WORKER_SETUP = WorkerSetup(
    build=build_worker_services,
    translate=translate_error,
    passes=(SigningError,),
    preload=(
        "service.services",
        "service.forms.produce",
        "service.certificates.document",
        "service.verification.files",
        "service.batches.work",
        "service.batches.printing",
    ),
)
