"""Is this request one the registry has answered before? Idempotency, scoped to the caller.

A request is the same as an earlier one when it comes from the same API key with the same
``Idempotency-Key`` (or, without one, for the same ``declaration_id``) *and* the same
validated content. Then it gets the earlier certificate. The same key with other content
is a conflict (409) that says how to correct a certificate: reissue it. Another caller
never learns anything about a certificate it did not ask for.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from service.contract.certificate import CertificateRequest
from service.errors import Conflict, FieldError
from service.registry import certificates as repo
from service.registry.db import transaction
from service.registry.models import Certificate

if TYPE_CHECKING:  # the composition root imports this flow: the type only
    from service.services import Services

CLAIM_POLL_SECONDS = 0.05


def request_digest(request: CertificateRequest) -> str:
    """The SHA-256 of the validated request (photo included), as the registry keeps it."""
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


def scoped(key_id: str, idempotency_key: str | None) -> str | None:
    return f"{key_id}:{idempotency_key}" if idempotency_key else None


def earlier_answer(
    services: Services, request: CertificateRequest, key_id: str, idempotency_key: str | None, digest: str
) -> Certificate | None:
    """The newest version of the certificate an earlier identical request made; None when
    there is none; ``Conflict`` when the key or the declaration was used otherwise."""
    with services.sessions() as session:
        scoped_key = scoped(key_id, idempotency_key)
        first = repo.by_idempotency_key(session, scoped_key) if scoped_key else None
        if first is not None and first.request_sha256 not in (None, digest):
            raise _changed(f"幂等键 Idempotency-Key「{idempotency_key}」", first.number)
        if first is None:
            first = repo.by_declaration(session, request.declaration_id)
            if first is not None and first.issued_by not in (None, key_id):
                message = f"申报编号 {request.declaration_id} 已签发过证书，不能重复签发"
                raise Conflict(message, errors=[FieldError("declaration_id", message, "already_issued")])
            if first is not None and first.request_sha256 not in (None, digest):
                raise _changed(f"申报编号 {request.declaration_id}", first.number)
        return repo.current_version(session, first.number) if first is not None else None


def _changed(what: str, number: str) -> Conflict:
    message = (
        f"{what} 已用于签发证书 {number}，但本次提交的内容与当时不同。"
        f"如需更正已签发的证书，请使用补换证：POST /api/v1/certificates/{number}/reissue"
    )
    return Conflict(message, errors=[FieldError("(body)", message, "idempotency_mismatch")])


def claim(services: Services, request: CertificateRequest, key_id: str, digest: str) -> bool:
    """Take the declaration for issuing. False when another request holds it (then wait
    with :func:`wait_for_other`). A claim older than twice the render budget was left by a
    crashed process and is taken over."""
    now = services.clock()
    try:
        with transaction(services.sessions) as session:
            held = repo.get_claim(session, request.declaration_id)
            stale_before = now - timedelta(seconds=2 * services.settings.render_timeout_seconds + 60)
            if held is not None and _aware(held.created_at) < stale_before:
                repo.drop_claim(session, request.declaration_id)
                session.flush()
            elif held is not None:
                return False
            repo.take_claim(session, request.declaration_id, key_id, digest, now)
        return True
    except IntegrityError:
        return False


def release(services: Services, declaration_id: str) -> None:
    with transaction(services.sessions) as session:
        repo.drop_claim(session, declaration_id)


def wait_for_other(services: Services, declaration_id: str) -> None:
    """Until the request holding ``declaration_id`` has recorded its certificate or given
    up; then the caller looks again (and replays, or takes the claim)."""
    deadline = time.monotonic() + 2 * services.settings.render_timeout_seconds + 60
    while time.monotonic() < deadline:
        with services.sessions() as session:
            if repo.get_claim(session, declaration_id) is None:
                return
        time.sleep(CLAIM_POLL_SECONDS)
    raise Conflict(f"申报编号 {declaration_id} 的证书正在签发中，请稍后重试", headers={"Retry-After": "10"})


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
