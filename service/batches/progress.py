"""Where a job stands, read from its items (the truth), and the step that closes it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from service.batches.jobs import get_job_or_404
from service.registry import batches as repo
from service.registry.db import transaction
from service.registry.models import BatchJob

if TYPE_CHECKING:  # the composition root imports this flow: the type only
    from service.services import Services


def job_status(services: Services, job_id: str, failures: int = 100, owner: str | None = None) -> dict:
    """Where the job stands; ``owner``: see :func:`get_job_or_404`."""
    with services.sessions() as session:
        job = get_job_or_404(session, job_id, owner)
        counts = repo.counts(session, job_id)
        first, last = repo.first_and_last_finish(session, job_id)
        failed_items = repo.failures(session, job_id, limit=failures)
        session.expunge_all()
    done, failed = counts.get("done", 0), counts.get("failed", 0)
    finished = done + failed
    remaining = counts.get("pending", 0)
    rate = None
    if first is not None and last is not None and finished > 1 and last > first:
        rate = round((finished - 1) / (_aware(last) - _aware(first)).total_seconds(), 2)
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "params": job.params,
        "engine": job.engine,
        "total": job.total,
        "done": done,
        "failed": failed,
        "cancelled": counts.get("cancelled", 0),
        "pending": remaining,
        "cancel_requested": job.cancel_requested,
        "rate_per_second": rate,
        "seconds_left": round(remaining / rate, 1) if rate and job.state in ("queued", "running") else None,
        "failures": [{"seq": i.seq, "item": i.target, "reason": i.reason} for i in failed_items],
        "created_by": job.created_by,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "error": job.error,
    }


def settle(services: Services, job_id: str) -> BatchJob | None:
    """Close the job if nothing is left to do: done, or cancelled; start it if queued
    (None: there is no such job)."""
    now = services.clock()
    with transaction(services.sessions) as session:
        job = repo.get_job(session, job_id)
        if job is None or job.state in repo.TERMINAL:
            return job
        if job.state == "queued":
            job.state, job.started_at = "running", now
        if job.cancel_requested:
            repo.cancel_pending(session, job_id, now)
        counts = repo.counts(session, job_id)
        if counts.get("pending", 0) == 0:
            # failed: not one item could be done (each failure says why); done otherwise.
            nothing_done = counts.get("failed", 0) and not counts.get("done", 0)
            job.state = "cancelled" if job.cancel_requested else ("failed" if nothing_done else "done")
            job.finished_at = now
        return job


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return _aware(moment).isoformat() if moment else None
