"""``renew``: long-term (B-LTA) certificates whose newest timestamp's TSA certificate
expires within ``days``, each given a new archive timestamp with the revocation data it
needs; every earlier seal stays valid."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service.batches.items import ItemFailed, actor_of, aware, finish_item
from service.batches.kinds import BatchKind
from service.registry import certificate_changes as changes
from service.registry import certificate_queries as queries
from service.registry import certificates as repo
from service.registry.db import transaction
from service.signing.levels import renewable_levels
from service.signing.pdf_inspect import archive_valid_until

if TYPE_CHECKING:
    from service.registry.models import BatchItem, BatchJob
    from service.services import Services


class RenewJob(BaseModel):
    """Renew B-LTA certificates whose newest timestamp's TSA certificate expires within ``days``."""

    kind: Literal["renew"]
    days: Annotated[int, Field(ge=1, le=3650)] = 90


def select_items(session: Session, request: RenewJob, now: datetime):
    for number in queries.due_for_renewal(session, now + timedelta(days=request.days), renewable_levels()):
        yield number, None


def renew_item(services: Services, job: BatchJob, item: BatchItem, owner: str) -> None:
    with services.sessions() as session:
        cert = repo.current_version(session, item.target)
    if cert is None:
        raise ItemFailed(f"没有编号为 {item.target} 的证书")
    if cert.seal_level not in renewable_levels():
        raise ItemFailed(f"证书 {cert.number} 不是长期验证（{'、'.join(renewable_levels())}）签章，无需续期")
    pdf = services.files.get(cert.pdf_sha256)
    until = archive_valid_until(pdf)
    due_by = services.clock() + timedelta(days=int(job.params.get("days", 90)))
    if until is not None and aware(until) > due_by:
        with transaction(services.sessions) as session:
            changes.record_archive_until(session, cert.id, until)
            finish_item(
                session, item, owner, services.clock(), outcome="not_due", number=cert.number, version=cert.version
            )
        return
    renewed = services.sealers.add_archive_timestamp(pdf)
    digest = services.files.put(renewed)
    now = services.clock()
    with transaction(services.sessions) as session:
        changed = changes.replace_renewed_file(
            session,
            cert.id,
            old_sha256=cert.pdf_sha256,
            pdf_sha256=digest,
            pdf_size=len(renewed),
            archive_until=archive_valid_until(renewed),
        )
        if changed:
            repo.add_event(
                session,
                cert,
                "renewed",
                actor_of(job),
                now,
                details={"job": job.id, "pdf_sha256": digest, "replaces": cert.pdf_sha256},
            )
        finish_item(
            session,
            item,
            owner,
            now,
            outcome="renewed" if changed else "already_renewed",
            number=cert.number,
            version=cert.version,
            pdf_sha256=digest if changed else None,
        )


KIND = BatchKind(
    name="renew",
    title="续期时间戳",
    request=RenewJob,
    select_items=select_items,
    run_item=renew_item,
    outcomes={"renewed": "已续期", "already_renewed": "此前已续期", "not_due": "尚未到期"},
)
