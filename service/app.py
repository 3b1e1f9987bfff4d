"""``create_app(settings)``: the FastAPI application and what it builds at start-up."""

from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager
from functools import partial

from anyio import CapacityLimiter
from fastapi import FastAPI

from service.api import admin, certificates, health, offline, verify
from service.api import batches as batches_api
from service.api import forms as forms_api
from service.api import metrics as metrics_api
from service.api import organisations as organisations_api
from service.api import profiles as profiles_api
from service.api import staff as staff_api
from service.api.errors import install_error_handlers
from service.api.explorer import install_explorer
from service.api.openapi import install_openapi
from service.api.progress_streams import ProgressStreams
from service.api.security import SecurityHeaders
from service.api.staff import install_sign_in_redirect
from service.api.verify import UploadGate
from service.api.web import build_web
from service.batches.engine import Coordinator
from service.batches.progress import job_status
from service.checks import degraded_reasons, speed_checks
from service.config import Settings
from service.contract.certificate import CertificateRequest
from service.forms.catalog import all_forms
from service.observability.metrics import build_registry, start_server
from service.observability.middleware import RequestContext
from service.registry.batches import state_counts_of
from service.registry.scan_reads import scan_reads
from service.runtime import SUPERVISOR_ENV, die_with_parent, freeze_startup_objects, quiet_libraries, tune_gc
from service.services import WORKER_SETUP, build_services, province_profile
from service.verification.files import warm_checking
from service.workers.child import Ceiling
from service.workers.pool import WorkerPool, warm_up_in_background

log = logging.getLogger(__name__)


def check_speed() -> list[str]:
    """The cheap start-up checks (the full set runs in ``serve`` and ``doctor``); what they
    find is logged as an error and reported by ``/healthz`` as ``degraded``."""
    reasons = degraded_reasons(speed_checks())
    for reason in reasons:
        log.error("SERVING DEGRADED: %s", reason)
    return reasons


def serves_metrics_elsewhere() -> bool:
    """Set by ``serve`` for its uvicorn processes when it serves ``ZC_METRICS_PORT`` itself."""
    return os.environ.get("ZC_METRICS_SERVED_BY_PARENT") == "1"


def create_app_from_env() -> FastAPI:
    """For uvicorn's worker processes: settings from the environment (set by ``serve``)."""
    supervisor = os.environ.get(SUPERVISOR_ENV)
    die_with_parent(int(supervisor) if supervisor and supervisor.isdigit() else None)
    tune_gc()
    quiet_libraries()
    return create_app(Settings())


UPLOAD_TOO_MUCH = "文件内容过多：查验这份文件所需的内存超过上限，无法查验；本服务签发的证书不会如此"


def upload_pool(settings: Settings) -> WorkerPool:
    """Public uploads are checked in workers of their own: each check under a tight memory
    ceiling (``ZC_UPLOAD_MEMORY_MB``), in processes no render has grown, at a lower
    priority than the requests; started (and their seals' trust loaded) at once."""
    pool = WorkerPool(
        settings,
        WORKER_SETUP,
        settings.upload_checks_at_once,
        nice=5,
        name="uploads",
        timeout=settings.upload_timeout_seconds,
        ceiling=Ceiling(settings.upload_memory_mb, UPLOAD_TOO_MUCH, "file"),
    )
    if settings.upload_warm:
        pool.start_in_background(warm_checking)
    return pool


def create_app(settings: Settings) -> FastAPI:
    # The forms of the province's profile only: a form its manual does not know is a 404.
    # (A profile that does not load stops the start here, naming the file and the key.)
    profile = province_profile(settings)
    forms = {slug: spec for slug, spec in all_forms().items() if slug in profile.forms}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.services = build_services(settings)
        # From here on the settings with the province's profile applied (what the workers get too).
        applied = app.state.services.settings
        app.state.web = build_web(applied)
        warm_up_in_background(WORKER_SETUP.preload)
        task_ceiling = Ceiling(applied.worker_task_memory_mb) if applied.worker_task_memory_mb else None
        app.state.workers = WorkerPool(applied, WORKER_SETUP, ceiling=task_ceiling)
        app.state.certificate_workers = WorkerPool(
            applied, WORKER_SETUP, applied.certificate_processes, name="certificates", ceiling=task_ceiling
        )
        app.state.upload_limiter = CapacityLimiter(applied.upload_checks_at_once)
        app.state.upload_gate = UploadGate(applied.upload_queue)
        # The QR scan's one read on the event loop (PostgreSQL; None: in the threadpool).
        app.state.scan_reads = scan_reads(applied.registry_url, applied.database_pool_size)
        if app.state.scan_reads is not None:
            await app.state.scan_reads.open()
        app.state.seal_checks = {}  # certificate id -> the seal check in flight (service.api.verify)
        app.state.upload_workers = upload_pool(applied)
        # Batch jobs: a pool of their own, at a lower priority than the requests.
        app.state.batch_pool = WorkerPool(
            applied, WORKER_SETUP, applied.batch_processes, nice=5, name="batch", ceiling=task_ceiling
        )
        app.state.progress = ProgressStreams(
            partial(job_status, app.state.services, failures=20),
            per_key=applied.events_per_key,
            total=applied.events_max,
            idle_seconds=applied.events_idle_seconds,
        )
        app.state.coordinator = Coordinator(app.state.services, app.state.batch_pool)
        app.state.coordinator.start()
        app.state.degraded = check_speed()
        app.state.metrics_registry = build_registry(partial(state_counts_of, app.state.services.sessions))
        # A port of its own for /metrics; with several serve processes the first process
        # (serve itself) holds it instead (service.cli.serve).
        metrics_server = (
            start_server(app.state.metrics_registry, applied.metrics_port, applied.metrics_host)
            if applied.metrics_port is not None and not serves_metrics_elsewhere()
            else None
        )
        app.state.metrics_server = metrics_server
        freeze_startup_objects()
        try:
            yield
        finally:
            if metrics_server is not None:
                metrics_server.shutdown()
                metrics_server.server_close()
            app.state.progress.close()
            app.state.coordinator.stop()
            app.state.batch_pool.close()
            app.state.upload_workers.close()
            app.state.certificate_workers.close()
            app.state.workers.close()
            if app.state.scan_reads is not None:
                await app.state.scan_reads.close()
            app.state.services.close()

    app = FastAPI(
        title="职称文书与电子证书服务",
        version="0.1.0",
        description="生成职称评审表册、一览表、公示表等 PDF 文书；签发、加盖电子印章并查验职称电子证书。",
        lifespan=lifespan,
        docs_url=None,  # served by install_explorer, without a CDN
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestContext)  # added last: outermost, so the id and the timing cover the rest
    # The public scan's routes first: the router tries the included routers in order, each
    # route of each, and a QR scan campaign is most of the requests (a fifth of an uncached
    # scan page's time went into matching past the forms' routes).
    app.include_router(verify.router)
    app.include_router(health.router)
    app.include_router(forms_api.build_router(forms))
    app.include_router(profiles_api.router)
    app.include_router(certificates.router)
    app.include_router(offline.router)
    app.include_router(admin.router)
    if settings.metrics_port is None:
        app.include_router(metrics_api.router)
    app.include_router(organisations_api.router)
    app.include_router(batches_api.router)
    app.include_router(staff_api.router)
    install_sign_in_redirect(app)
    install_explorer(app)
    install_openapi(
        app,
        models=[
            *{id(spec.model): spec.model for spec in forms.values()}.values(),
            CertificateRequest,
            batches_api.JOB_REQUEST,
        ],
        examples={
            **{slug: settings.templates_dir / "forms" / slug / "sample.json" for slug in forms},
            "certificate": settings.templates_dir / "certificates" / "default" / "sample.json",
        },
        unknown_fields=settings.limits.unknown_fields,
    )
    return app
