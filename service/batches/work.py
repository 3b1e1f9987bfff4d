"""What a batch worker does with the items it holds: each item by its job's kind
(:mod:`service.batches.catalog`), exactly once (:mod:`service.batches.items`).

Runs wherever the services are loaded (a local worker process, a Celery worker, a test).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.batches.catalog import kind_named
from service.batches.items import ItemFailed, Lost
from service.batches.kinds import RunItem
from service.errors import ServiceError
from service.observability.context import bound_request_id, current_request_id
from service.registry import batches as items_repo
from service.registry.db import transaction
from service.registry.models import BatchItem, BatchJob
from service.signing.errors import SigningError
from service.workers.tasks import worker_task

if TYPE_CHECKING:  # the composition root imports this flow: the type only
    from sqlalchemy.orm import Session

    from service.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkResult:
    done: int = 0
    failed: int = 0
    skipped: int = 0  # not ours any more (lease lost), or the job was cancelled


@worker_task("warm_sealing")
def warm_sealing(services: Services) -> int:
    """Load the keys, the TSA and the seal images now, before the first item needs them."""
    return services.sealers.current().warm()


@worker_task("batch")
def run_items(
    services: Services, job_id: str, item_ids: list[int], owner: str, run_item: RunItem | None = None
) -> ChunkResult:
    """Work through the items of ``job_id`` leased to ``owner``, in order, each by
    ``run_item`` (default: the job's kind's, looked up here by name)."""
    with services.sessions() as session:
        job = _stored_job(session, job_id)
        session.expunge(job)
    # The items are worked under the id of the request that created the job: their log
    # lines and audit events join that request's.
    with bound_request_id((job.params or {}).get("request_id") or current_request_id()):
        return _run_items(services, job, item_ids, owner, run_item or kind_named(job.kind).run_item)


def _stored_job(session: Session, job_id: str) -> BatchJob:
    """A job whose items are being worked (jobs are never deleted)."""
    job = session.get(BatchJob, job_id)
    if job is None:
        raise LookupError(f"batch job {job_id} is not in the registry")
    return job


def _run_items(services: Services, job: BatchJob, item_ids: list[int], owner: str, run_item: RunItem) -> ChunkResult:
    job_id = job.id
    done = failed = skipped = 0
    for item_id in item_ids:
        with services.sessions() as session:
            if _stored_job(session, job_id).cancel_requested:
                skipped += len(item_ids) - done - failed - skipped
                break
            item = items_repo.owned(session, item_id, owner)
            if item is not None:
                session.expunge(item)
        if item is None:
            skipped += 1
            continue
        try:
            run_item(services, job, item, owner)
            done += 1
        except ItemFailed as exc:
            _fail(services, item, owner, str(exc))
            failed += 1
        except Lost:
            skipped += 1
        except (ServiceError, SigningError) as exc:
            _fail(services, item, owner, _reason(exc))
            failed += 1
    return ChunkResult(done, failed, skipped)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ServiceError):
        details = "；".join(f"{e.path}：{e.message}" for e in exc.errors[:5])
        return f"{exc.message}（{details}）" if details else exc.message
    return f"签章失败：{exc}"


def _fail(services: Services, item: BatchItem, owner: str, reason: str) -> None:
    with transaction(services.sessions) as session:
        items_repo.finish(session, item.id, owner, services.clock(), state="failed", reason=reason[:2000])
