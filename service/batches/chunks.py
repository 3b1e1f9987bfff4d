"""One chunk of a job, from claim to release: the loop both engines run.

claim (lease some free items to this owner) → run them (in a local worker process, or
in this Celery worker) → release what the run left undone (a cancel, a crash, a timeout:
free again at once, for the next claim) → settle the job (close it when nothing is
left). The local coordinator claims a chunk ahead for each worker and settles on its next
round; a Celery task claims the items it was sent and settles when it is done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from service.batches.work import ChunkResult
from service.registry import batches as repo
from service.registry.db import transaction

if TYPE_CHECKING:
    from service.services import Services

# (job id, the claimed item ids, owner) -> what became of them
RunChunk = Callable[[str, list[int], str], ChunkResult]
EXHAUSTED = (
    "多次处理均超时或中断（每项时限 ZC_BATCH_ITEM_TIMEOUT_SECONDS），已停止重试；请检查签章密钥与时间戳服务后重新提交"
)


def claim_chunk(services: Services, job_id: str, owner: str, limit: int, ids: Sequence[int] | None = None) -> list[int]:
    """Lease up to ``limit`` free items of an open job to ``owner`` (or, of ``ids``, those
    still free). Items tried ``batch_max_attempts`` times are not claimed: when nothing
    else is left they fail, with the reason, so that the job can close."""
    settings = services.settings
    now = services.clock()
    with transaction(services.sessions) as session:
        job = repo.get_job(session, job_id)
        if job is None or job.cancel_requested or job.state in repo.TERMINAL:
            return []
        until = now + timedelta(seconds=settings.batch_lease_seconds)
        claimed = repo.claim(
            session, job_id, owner, now, until, limit, ids=ids, max_attempts=settings.batch_max_attempts
        )
        if not claimed and ids is None:
            repo.fail_exhausted(session, job_id, settings.batch_max_attempts, now, EXHAUSTED)
        return claimed


def work_claimed(services: Services, job_id: str, ids: list[int], owner: str, run: RunChunk) -> ChunkResult | None:
    """Run the claimed items; whatever the run left undone is released at once, however it
    ended (an exception from ``run`` is raised after the release)."""
    result = None
    try:
        result = run(job_id, ids, owner)
        return result
    finally:
        if result is None or result.done + result.failed < len(ids):
            with transaction(services.sessions) as session:
                repo.release(session, ids, owner)
