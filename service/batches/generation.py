"""「证书生成中，请稍后下载」: where one declaration's certificate stands while an ``issue``
job still has it to do (the Anhui platform's download button asks exactly this)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.batches.progress import job_status
from service.registry import batches as repo

if TYPE_CHECKING:  # the composition root imports this flow: the type only
    from service.services import Services


def generation_status(services: Services, declaration_id: str) -> dict | None:
    """The job and an estimate of when the certificate of ``declaration_id`` will be issued,
    or None when no open issue job has it still to do."""
    with services.sessions() as session:
        found = repo.open_issue_item(session, declaration_id)
        if found is None:
            return None
        item, job = found
        ahead = repo.pending_before(session, job.id, item.seq)
        job_id, seq = job.id, item.seq
    status = job_status(services, job_id, failures=0)
    rate = status["rate_per_second"]
    return {
        "status": "生成中",
        "message": services.profile.notices.get("generating", "证书生成中，请稍后下载"),
        "job": {"id": job_id, "state": status["state"], "done": status["done"], "total": status["total"]},
        "item": seq,
        "ahead": ahead,
        # Until the job has finished two items it has no rate to estimate from.
        "seconds_left": round((ahead + 1) / rate, 1) if rate else None,
    }
