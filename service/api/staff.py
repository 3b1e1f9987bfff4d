"""``/staff``: the batch jobs in a browser, for the staff of a committee's office.

Sign in once with a staff key; a session cookie (HttpOnly, SameSite=Strict, path /staff,
Secure whenever the request came over TLS, directly or through a trusted proxy) carries
the rest. Every form carries a CSRF token: the session's, and on the sign-in form one of
its own, paired with a short-lived cookie (so that a hostile page cannot sign a browser
into someone else's session); every post from a browser must come from this origin. A
refused form is a 403 page that says what to do. The pages: what waits for seals per
committee and year, a seal job started from there, its live progress (Server-Sent
Events; one small script from this service), its failures and archive.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from service.api.batches import archive_response, follow_job
from service.api.deps import ServicesDep, WebDep, get_web
from service.api.web import Web
from service.batches.catalog import all_kinds, outcome_titles
from service.batches.engine import engine_name
from service.batches.jobs import create_job, pending_by_committee_and_year, request_cancel
from service.batches.progress import job_status
from service.batches.seal_kind import SealJob
from service.observability import metrics
from service.registry import batches as repo
from service.registry.api_keys import find_api_key
from service.registry.db import transaction
from service.registry.staff_sessions import close_session, find_session, open_session
from service.services import Services
from service.verification.ratelimit import client_address, is_trusted_proxy

router = APIRouter(prefix="/staff", include_in_schema=False)
COOKIE = "zc_staff"
LOGIN_COOKIE = "zc_staff_login"  # the sign-in form's own CSRF token, until it is posted
LOGIN_FORM_LIFETIME = timedelta(hours=1)
LIFETIME = timedelta(hours=8)
STATE_CN = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败", "cancelled": "已取消"}


class SignIn(Exception):
    """No live sign-in: to the sign-in page."""


class FormRefused(Exception):
    """A form without its token, or posted from another site: 403 and a page saying why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


STALE_FORM = "表单已过期或不是从本页面提交的：请刷新页面后重新操作"
FOREIGN_ORIGIN = "表单来自其他网站，已拒绝：请直接打开本服务的页面操作"


class StaffUser:
    def __init__(self, key_id: str, role: str, csrf: str, token: str):
        self.key_id, self.role, self.csrf, self.token = key_id, role, csrf, token

    @property
    def scope(self) -> str:
        return f"{self.role}:{self.key_id}"


def staff_user(request: Request, services: ServicesDep) -> StaffUser:
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignIn()
    with services.sessions() as session:
        found = find_session(session, token, datetime.now(UTC))
    if found is None:
        raise SignIn()
    staff, key = found
    return StaffUser(key.key_id, key.role, staff.csrf, token)


StaffDep = Annotated[StaffUser, Depends(staff_user)]


async def _form(request: Request, user: StaffUser, services: Services) -> dict:
    check_origin(request, services)
    form = await request.form(max_files=0, max_fields=20)
    if not hmac.compare_digest(str(form.get("csrf", "")), user.csrf):
        raise FormRefused(STALE_FORM)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def check_origin(request: Request, services: Services) -> None:
    """A browser names the page a form was posted from (``Origin``): it must be this
    service, as the browser reached it (the Host it asked for, over TLS or not) or as
    ``ZC_PUBLIC_BASE_URL`` names it. Without the header (not a browser), the CSRF token
    alone decides."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    scheme = "https" if came_over_tls(request, services) else "http"
    allowed = {f"{scheme}://{request.headers.get('host', '')}".lower(), _origin_of(services.settings.public_base_url)}
    if origin.lower().rstrip("/") not in allowed:
        raise FormRefused(FOREIGN_ORIGIN)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def came_over_tls(request: Request, services: Services) -> bool:
    """Over TLS to this process, or to a trusted proxy that says so (``X-Forwarded-Proto``)."""
    if request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else None
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return proto == "https" and is_trusted_proxy(peer, services.settings.trusted_proxies)


def _page(web: Web, template: str, status: int = 200, **context) -> HTMLResponse:
    kinds = {name: kind.title for name, kind in all_kinds().items()}
    html = web.pages.render(f"staff/{template}", states=STATE_CN, kinds=kinds, outcomes=outcome_titles(), **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- signing in and out ---------------------------------------------------------------------


def _login_page(request: Request, services: Services, status: int = 200, error: str | None = None) -> HTMLResponse:
    """The sign-in form with a fresh token of its own, the same token in a cookie."""
    token = secrets.token_urlsafe(24)
    response = _page(get_web(request), "login.html", status=status, user=None, error=error, login_csrf=token)
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=int(LOGIN_FORM_LIFETIME.total_seconds()),
        path="/staff",
        httponly=True,
        samesite="strict",
        secure=came_over_tls(request, services),
    )
    return response


@router.get("/login")
def login_page(request: Request, services: ServicesDep) -> HTMLResponse:
    return _login_page(request, services)


@router.post("/login")
async def login(request: Request, services: ServicesDep) -> Response:
    peer = request.client.host if request.client else None
    client = client_address(peer, request.headers.get("x-forwarded-for"), services.settings.trusted_proxies)
    if get_web(request).limiter.take("staff-login:" + client) > 0:
        return _login_page(request, services, status=429, error="尝试过于频繁，请稍后再试")
    check_origin(request, services)
    form = await request.form(max_files=0, max_fields=5)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(str(form.get("csrf", "")), expected):
        raise FormRefused(STALE_FORM)
    presented = str(form.get("key", "")).strip()

    def sign_in():
        with transaction(services.sessions) as session:
            key = find_api_key(session, presented) if presented else None
            if key is None or key.role not in ("staff", "admin"):
                return None
            return open_session(session, key, datetime.now(UTC), LIFETIME)

    opened = await run_in_threadpool(sign_in)
    if opened is None:
        return _login_page(request, services, status=401, error="密钥无效，或不是工作人员（staff）密钥")
    token, _ = opened
    response = _see("/staff/batches")
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LIFETIME.total_seconds()),
        path="/staff",
        httponly=True,
        samesite="strict",
        secure=came_over_tls(request, services),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/staff")
    return response


@router.post("/logout")
async def logout(request: Request, services: ServicesDep, user: StaffDep) -> Response:
    await _form(request, user, services)
    with transaction(services.sessions) as session:
        close_session(session, user.token)
    response = _see("/staff/login")
    response.delete_cookie(COOKIE, path="/staff")
    return response


# --- jobs -------------------------------------------------------------------------------------


@router.get("/batches")
def batches_page(services: ServicesDep, web: WebDep, user: StaffDep) -> HTMLResponse:
    pending = pending_by_committee_and_year(services)
    with services.sessions() as session:
        jobs = [(job, repo.counts(session, job.id)) for job in repo.recent_jobs(session, limit=20)]
        session.expunge_all()
    return _page(web, "batches.html", user=user, pending=pending, jobs=jobs, error=None)


@router.post("/batches")
async def start_seal_job(request: Request, services: ServicesDep, user: StaffDep) -> Response:
    form = await _form(request, user, services)
    numbers = [n.strip() for n in form.get("numbers", "").replace(",", "\n").splitlines() if n.strip()]
    try:
        job_request = SealJob(
            kind="seal",
            numbers=numbers or None,
            committee=form.get("committee") or None,
            issuer=form.get("issuer") or None,
            year=int(form["year"]) if form.get("year", "").isdigit() else None,
        )
    except ValueError as exc:
        return _page(get_web(request), "batches.html", status=422, user=user, pending=[], jobs=[], error=str(exc))
    job, _ = await run_in_threadpool(
        create_job, services, job_request, created_by=user.scope, engine=engine_name(services)
    )
    request.app.state.coordinator.wake()
    return _see(f"/staff/batches/{job.id}")


@router.get("/batches/{job_id}")
def job_page(job_id: str, services: ServicesDep, web: WebDep, user: StaffDep) -> HTMLResponse:
    return _page(web, "job.html", user=user, error=None, job=job_status(services, job_id, failures=500))


@router.post("/batches/{job_id}/cancel")
async def cancel_job(job_id: str, request: Request, services: ServicesDep, user: StaffDep) -> Response:
    await _form(request, user, services)
    await run_in_threadpool(request_cancel, services, job_id)
    request.app.state.coordinator.wake()
    return _see(f"/staff/batches/{job_id}")


@router.get("/batches/{job_id}/events")
async def job_events(job_id: str, request: Request, services: ServicesDep, user: StaffDep) -> StreamingResponse:
    return await follow_job(request, services, job_id, user.scope, None)


@router.get("/batches/{job_id}/archive")
def job_archive(job_id: str, services: ServicesDep, user: StaffDep) -> StreamingResponse:
    return archive_response(services, job_id, None)


def install_sign_in_redirect(app) -> None:
    @app.exception_handler(SignIn)
    async def _to_sign_in(request: Request, exc: SignIn) -> Response:
        return _see("/staff/login")

    @app.exception_handler(FormRefused)
    async def _refused(request: Request, exc: FormRefused) -> Response:
        metrics.count_error("csrf_refused")
        return _page(get_web(request), "refused.html", status=403, user=None, error=exc.message)
