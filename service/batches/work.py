"""What a batch worker does with the items it holds: seal, issue or renew one certificate
each, exactly once.

Runs wherever the services are loaded (a local worker process, a Celery worker, a test).
Each item ends in one transaction that both changes the certificate and finishes the
item, and the certificate change is conditional (``pending_seal`` → ``valid``, this file
→ its renewal): a worker killed half-way, a job run twice, two jobs over the same
certificates, all end with every certificate changed once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from service.certificates.document import render_sealable, stored_request
from service.certificates.issuance import Actor, issue_certificate
from service.contract.certificate import CertificateRequest
from service.contract.parse import validate_payload
from service.documents.certificate_layout import SEAL_AREAS
from service.errors import ServiceError
from service.observability.context import bound_request_id, current_request_id
from service.registry import batches as items_repo
from service.registry import certificate_changes as changes
from service.registry import certificates as repo
from service.registry.db import transaction
from service.registry.models import BatchItem, BatchJob, Certificate
from service.signing.errors import SigningError
from service.signing.pdf_inspect import archive_valid_until
from service.workers.tasks import worker_task

if TYPE_CHECKING:  # the composition root imports this flow: the type only
    from service.services import Services

log = logging.getLogger(__name__)
STATUS_CN = {"revoked": "已撤销", "superseded": "已换发"}


class ItemFailed(Exception):
    """This item cannot be done: its reason, in Chinese, for the job's list of failures."""


class _Lost(Exception):
    """Another worker finished the item first: this one's work is rolled back."""


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
def run_items(services: Services, job_id: str, item_ids: list[int], owner: str) -> ChunkResult:
    """Work through the items of ``job_id`` leased to ``owner``, in order."""
    with services.sessions() as session:
        job = session.get(BatchJob, job_id)
        session.expunge(job)
    # The items are worked under the id of the request that created the job: their log
    # lines and audit events join that request's.
    with bound_request_id((job.params or {}).get("request_id") or current_request_id()):
        return _run_items(services, job, item_ids, owner)


def _run_items(services: Services, job: BatchJob, item_ids: list[int], owner: str) -> ChunkResult:
    job_id = job.id
    done = failed = skipped = 0
    for item_id in item_ids:
        with services.sessions() as session:
            if session.get(BatchJob, job_id).cancel_requested:
                skipped += len(item_ids) - done - failed - skipped
                break
            item = items_repo.owned(session, item_id, owner)
            if item is not None:
                session.expunge(item)
        if item is None:
            skipped += 1
            continue
        try:
            HANDLERS[job.kind](services, job, item, owner)
            done += 1
        except ItemFailed as exc:
            _fail(services, item, owner, str(exc))
            failed += 1
        except _Lost:
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


def _finish(session, item: BatchItem, owner: str, now: datetime, **result) -> None:
    if not items_repo.finish(session, item.id, owner, now, state="done", **result):
        raise _Lost()


def _actor(job: BatchJob) -> str:
    return f"batch:{job.id} ({job.created_by})"


# --- seal ---------------------------------------------------------------------------------


def seal_item(services: Services, job: BatchJob, item: BatchItem, owner: str) -> None:
    with services.sessions() as session:
        cert = repo.current_version(session, item.target)
    if cert is None:
        raise ItemFailed(f"没有编号为 {item.target} 的证书")
    if cert.status in STATUS_CN:
        raise ItemFailed(f"证书 {cert.number} {STATUS_CN[cert.status]}，未加盖印章")
    if cert.status == "valid":
        with transaction(services.sessions) as session:
            _finish(session, item, owner, services.clock(), outcome="already_sealed", number=cert.number,
                    version=cert.version, pdf_sha256=cert.pdf_sha256)  # fmt: skip
        return
    for code, label in ((cert.committee_code, "评委会"), (cert.issuer_code, "发证机关")):
        if not services.sealers.has_key(code):  # asks the registry when not loaded here
            raise ItemFailed(f"{label}（代码 {code}）尚无可用的电子印章，请先为其配置密钥")
    sealed = services.sealers.seal(_sealable(services, cert), cert.committee_code, cert.issuer_code, SEAL_AREAS)
    digest = services.files.put(sealed.pdf)  # written (atomically) before any row names it
    now = services.clock()
    with transaction(services.sessions) as session:
        changed = changes.mark_sealed(session, cert.id, pdf_sha256=digest, pdf_size=len(sealed.pdf),
                                      seal_level=sealed.level, sealed_at=now, archive_until=sealed.archive_until)
        if changed:
            repo.add_event(session, cert, "sealed", _actor(job), now,
                           details={"job": job.id, "pdf_sha256": digest, "replaces": cert.pdf_sha256,
                                    "level": sealed.level})  # fmt: skip
        _finish(session, item, owner, now, outcome="sealed" if changed else "already_sealed", number=cert.number,
                version=cert.version, pdf_sha256=digest if changed else None)  # fmt: skip


def _sealable(services: Services, cert: Certificate) -> bytes:
    """The unsealed certificate without its notice: kept at issuance, or laid out again
    for one issued before that was kept (same number, identifier and QR code)."""
    if cert.sealable_pdf_sha256 and services.files.exists(cert.sealable_pdf_sha256):
        return services.files.get(cert.sealable_pdf_sha256)
    request = validate_payload(CertificateRequest, stored_request(services, cert), services.settings.limits)
    return render_sealable(services, request, number=cert.number, token=cert.token, identifier=cert.identifier)


# --- issue --------------------------------------------------------------------------------


def issue_item(services: Services, job: BatchJob, item: BatchItem, owner: str) -> None:
    request = validate_payload(CertificateRequest, item.payload, services.settings.limits)
    role, _, key_id = job.created_by.partition(":")
    issued = issue_certificate(services, request, actor=Actor(role, key_id),
                               idempotency_key=(item.payload or {}).get("idempotency_key"))  # fmt: skip
    cert = issued.certificate
    with transaction(services.sessions) as session:
        _finish(session, item, owner, services.clock(), outcome="replayed" if issued.replay else "issued",
                number=cert.number, version=cert.version, pdf_sha256=cert.pdf_sha256)  # fmt: skip


# --- renew --------------------------------------------------------------------------------


def renew_item(services: Services, job: BatchJob, item: BatchItem, owner: str) -> None:
    with services.sessions() as session:
        cert = repo.current_version(session, item.target)
    if cert is None:
        raise ItemFailed(f"没有编号为 {item.target} 的证书")
    if cert.seal_level != "B-LTA":
        raise ItemFailed(f"证书 {cert.number} 不是长期验证（B-LTA）签章，无需续期")
    pdf = services.files.get(cert.pdf_sha256)
    until = archive_valid_until(pdf)
    due_by = services.clock() + timedelta(days=int(job.params.get("days", 90)))
    if until is not None and _aware(until) > due_by:
        with transaction(services.sessions) as session:
            changes.record_archive_until(session, cert.id, until)
            _finish(session, item, owner, services.clock(), outcome="not_due", number=cert.number,
                    version=cert.version)  # fmt: skip
        return
    renewed = services.sealers.add_archive_timestamp(pdf)
    digest = services.files.put(renewed)
    now = services.clock()
    with transaction(services.sessions) as session:
        changed = changes.replace_renewed_file(session, cert.id, old_sha256=cert.pdf_sha256, pdf_sha256=digest,
                                               pdf_size=len(renewed), archive_until=archive_valid_until(renewed))
        if changed:
            repo.add_event(session, cert, "renewed", _actor(job), now,
                           details={"job": job.id, "pdf_sha256": digest, "replaces": cert.pdf_sha256})
        _finish(session, item, owner, now, outcome="renewed" if changed else "already_renewed", number=cert.number,
                version=cert.version, pdf_sha256=digest if changed else None)  # fmt: skip


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


HANDLERS = {"seal": seal_item, "issue": issue_item, "renew": renew_item}
