"""Batch jobs: what is asked (validated here, once), the items it covers, where it stands.

A job is created with all its items in one transaction and answered at once; the engine
works through the items afterwards. The same job asked for again (the same
``Idempotency-Key``, or the command line run again with the same arguments) is the job
already there, which goes on where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Literal, TYPE_CHECKING

from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from service.errors import FieldError, InvalidInput, NotFound
from service.observability.context import current_request_id
from service.registry import batches as repo
from service.registry import certificate_queries as queries
from service.registry.db import transaction
from service.registry.models import BatchJob
from service.registry.orgs import list_orgs

if TYPE_CHECKING:  # the composition root imports this flow: the type only
    from service.services import Services

log = logging.getLogger(__name__)

MAX_ITEMS = 100_000


class SealJob(BaseModel):
    """Seal the ``pending_seal`` certificates chosen by their numbers or by a filter."""

    kind: Literal["seal"]
    numbers: Annotated[list[Annotated[str, Field(min_length=1, max_length=40)]] | None,
                       Field(max_length=MAX_ITEMS)] = None
    committee: Annotated[str | None, Field(max_length=64)] = None
    issuer: Annotated[str | None, Field(max_length=64)] = None
    year: Annotated[int | None, Field(ge=1990, le=2100)] = None

    @model_validator(mode="after")
    def _numbers_or_filter(self) -> SealJob:
        if self.numbers is not None and any(v is not None for v in (self.committee, self.issuer, self.year)):
            raise ValueError("numbers 与 committee/issuer/year 筛选条件只能二选一")
        return self


class IssueJob(BaseModel):
    """Issue a list of certificate requests, each as ``POST /api/v1/certificates`` would."""

    kind: Literal["issue"]
    requests: Annotated[list[dict], Field(min_length=1, max_length=MAX_ITEMS)]


class RenewJob(BaseModel):
    """Renew B-LTA certificates whose newest timestamp's TSA certificate expires within ``days``."""

    kind: Literal["renew"]
    days: Annotated[int, Field(ge=1, le=3650)] = 90


JobRequest = Annotated[SealJob | IssueJob | RenewJob, Field(discriminator="kind")]


def job_key_of(request: SealJob | IssueJob | RenewJob, idempotency_key: str | None, scope: str) -> str:
    """The key under which asking again finds this job."""
    if idempotency_key:
        return f"{scope}:{idempotency_key}"
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return f"{scope}:auto:{hashlib.sha256(canonical.encode()).hexdigest()}"


def create_job(services: Services, request: SealJob | IssueJob | RenewJob, *, created_by: str, engine: str,
               job_key: str | None = None) -> tuple[BatchJob, bool]:  # fmt: skip
    """The job and whether it was created now (False: the same job already existed)."""
    with transaction(services.sessions) as session:
        if job_key:
            existing = repo.job_by_key(session, job_key)
            if existing is not None:
                return existing, False
        now = services.clock()
        job = BatchJob(id=secrets.token_hex(8), kind=request.kind, state="queued", params=_params(request),
                       job_key=job_key, created_by=created_by, engine=engine, total=0, cancel_requested=False,
                       created_at=now)  # fmt: skip
        session.add(job)
        session.flush()
        job.total = repo.add_items(session, job.id, _items(session, request, services.clock()))
        log.info("batch job %s created: %s, %d items, by %s", job.id, job.kind, job.total, created_by,
                 extra={"job_id": job.id})
        return job, True


def _params(request) -> dict:
    """What was asked, and the id of the request that asked: the job's items are worked
    under it, so that their log lines and audit events join the request's."""
    if isinstance(request, IssueJob):
        params = {"kind": "issue", "requests": len(request.requests)}
    else:
        params = request.model_dump(mode="json", exclude_none=True)
    request_id = current_request_id()
    return {**params, "request_id": request_id} if request_id else params


def _items(session: Session, request, now: datetime):
    if isinstance(request, IssueJob):
        for index, body in enumerate(request.requests):
            yield str(body.get("declaration_id") or f"#{index + 1}")[:200], body
    elif isinstance(request, SealJob):
        numbers = request.numbers if request.numbers is not None else _pending_numbers(session, request)
        for number in dict.fromkeys(numbers):  # each certificate once, in the order asked
            yield number, None
    else:
        for number in _due_for_renewal(session, now + timedelta(days=request.days)):
            yield number, None


def _pending_numbers(session: Session, request: SealJob) -> list[str]:
    return queries.pending_seal_numbers(session, request.committee, request.issuer, request.year)


def _due_for_renewal(session: Session, due_by: datetime) -> list[str]:
    return queries.due_for_renewal(session, due_by, "B-LTA")


def pending_by_committee_and_year(services: Services) -> list[dict]:
    """What waits for seals: counts per committee and issue year (the staff page's table)."""
    with services.sessions() as session:
        rows = queries.pending_seal_counts(session)
        names = {org.code: org.name for org in list_orgs(session)}
    return [{"committee": c, "committee_name": names.get(c, ""), "issuer": i, "issuer_name": names.get(i, ""),
             "year": y, "pending": n} for c, i, y, n in rows]


def get_job_or_404(session: Session, job_id: str, owner: str | None = None) -> BatchJob:
    """The job; ``owner`` (``role:key id``): only if that key created it, and otherwise the
    same 404 as for no job at all (a platform key learns nothing of another's jobs)."""
    job = repo.get_job(session, job_id)
    if job is None or (owner is not None and job.created_by != owner):
        raise NotFound(f"没有编号为 {job_id} 的批量任务",
                       errors=[FieldError("path.id", "没有这个任务", "unknown_job")])  # fmt: skip
    return job


def request_cancel(services: Services, job_id: str) -> BatchJob:
    with transaction(services.sessions) as session:
        job = get_job_or_404(session, job_id)
        if job.state in repo.TERMINAL:
            raise InvalidInput(f"任务已结束（{job.state}），无法取消",
                               errors=[FieldError("path.id", "任务已结束", "job_finished")])  # fmt: skip
        job.cancel_requested = True
        request_id = current_request_id()
        if request_id:  # a new dict: the JSON column sees the change
            job.params = {**job.params, "cancel_request_id": request_id}
        log.info("batch job %s: cancel requested", job_id, extra={"job_id": job_id})
        return job
