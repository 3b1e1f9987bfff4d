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
from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy.orm import Session

from service.batches.catalog import kind_named
from service.batches.kinds import BatchKind
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


def job_key_of(request: BaseModel, idempotency_key: str | None, scope: str) -> str:
    """The key under which asking again finds this job."""
    if idempotency_key:
        return f"{scope}:{idempotency_key}"
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return f"{scope}:auto:{hashlib.sha256(canonical.encode()).hexdigest()}"


def create_job(
    services: Services, request: BaseModel, *, created_by: str, engine: str, job_key: str | None = None
) -> tuple[BatchJob, bool]:
    """The job and whether it was created now (False: the same job already existed)."""
    with transaction(services.sessions) as session:
        if job_key:
            existing = repo.job_by_key(session, job_key)
            if existing is not None:
                return existing, False
        now = services.clock()
        kind = kind_named(request.kind)  # type: ignore[attr-defined]  # every kind's request has kind: Literal[name] (BatchKind.request)
        job = BatchJob(
            id=secrets.token_hex(8),
            kind=kind.name,
            state="queued",
            params=_params(kind, request),
            job_key=job_key,
            created_by=created_by,
            engine=engine,
            total=0,
            cancel_requested=False,
            created_at=now,
        )
        session.add(job)
        session.flush()
        job.total = repo.add_items(session, job.id, kind.select_items(session, request, services.clock()))
        log.info(
            "batch job %s created: %s, %d items, by %s",
            job.id,
            job.kind,
            job.total,
            created_by,
            extra={"job_id": job.id},
        )
        return job, True


def _params(kind: BatchKind, request: BaseModel) -> dict:
    """What was asked, and the id of the request that asked: the job's items are worked
    under it, so that their log lines and audit events join the request's."""
    params = kind.params_of(request)
    request_id = current_request_id()
    return {**params, "request_id": request_id} if request_id else params


def pending_by_committee_and_year(services: Services) -> list[dict]:
    """What waits for seals: counts per committee and issue year (the staff page's table)."""
    with services.sessions() as session:
        rows = queries.pending_seal_counts(session)
        names = {org.code: org.name for org in list_orgs(session)}
    return [
        {
            "committee": c,
            "committee_name": names.get(c, ""),
            "issuer": i,
            "issuer_name": names.get(i, ""),
            "year": y,
            "pending": n,
        }
        for c, i, y, n in rows
    ]


def get_job_or_404(session: Session, job_id: str, owner: str | None = None) -> BatchJob:
    """The job; ``owner`` (``role:key id``): only if that key created it, and otherwise the
    same 404 as for no job at all (a platform key learns nothing of another's jobs)."""
    job = repo.get_job(session, job_id)
    if job is None or (owner is not None and job.created_by != owner):
        raise job_not_found(job_id)
    return job


def job_not_found(job_id: str) -> NotFound:
    return NotFound(f"没有编号为 {job_id} 的批量任务", errors=[FieldError("path.id", "没有这个任务", "unknown_job")])


def request_cancel(services: Services, job_id: str) -> BatchJob:
    with transaction(services.sessions) as session:
        job = get_job_or_404(session, job_id)
        if job.state in repo.TERMINAL:
            raise InvalidInput(
                f"任务已结束（{job.state}），无法取消", errors=[FieldError("path.id", "任务已结束", "job_finished")]
            )
        job.cancel_requested = True
        request_id = current_request_id()
        if request_id:  # a new dict: the JSON column sees the change
            job.params = {**job.params, "cancel_request_id": request_id}
        log.info("batch job %s: cancel requested", job_id, extra={"job_id": job_id})
        return job
