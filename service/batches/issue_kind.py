"""``issue``: a list of certificate requests, each issued as ``POST /api/v1/certificates``
would (the same idempotency: a request issued before is answered, not issued again)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service.batches.items import finish_item
from service.batches.kinds import BatchKind
from service.certificates.issuance import Actor, issue_certificate
from service.contract.certificate import CertificateRequest
from service.contract.parse import validate_payload
from service.registry.db import transaction

if TYPE_CHECKING:
    from service.registry.models import BatchItem, BatchJob
    from service.services import Services

MAX_ITEMS = 100_000


class IssueJob(BaseModel):
    """Issue a list of certificate requests, each as ``POST /api/v1/certificates`` would."""

    kind: Literal["issue"]
    requests: Annotated[list[dict], Field(min_length=1, max_length=MAX_ITEMS)]


def select_items(session: Session, request: IssueJob, now: datetime):
    for index, body in enumerate(request.requests):
        yield str(body.get("declaration_id") or f"#{index + 1}")[:200], body


def issue_item(services: Services, job: BatchJob, item: BatchItem, owner: str) -> None:
    request = validate_payload(CertificateRequest, item.payload, services.settings.limits)
    role, _, key_id = job.created_by.partition(":")
    issued = issue_certificate(
        services, request, actor=Actor(role, key_id), idempotency_key=(item.payload or {}).get("idempotency_key")
    )
    cert = issued.certificate
    with transaction(services.sessions) as session:
        finish_item(
            session,
            item,
            owner,
            services.clock(),
            outcome="replayed" if issued.replay else "issued",
            number=cert.number,
            version=cert.version,
            pdf_sha256=cert.pdf_sha256,
        )


KIND = BatchKind(
    name="issue",
    title="批量签发",
    request=IssueJob,
    select_items=select_items,
    run_item=issue_item,
    outcomes={"issued": "已签发", "replayed": "此前已签发"},
    roles=("staff", "platform"),
    # the requests live in the items, not again in the job row
    params=lambda request: {"kind": "issue", "requests": len(request.requests)},
)
