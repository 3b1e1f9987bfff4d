"""Batch jobs and their items. None of these commits: the caller owns the transaction.

Items are claimed with a lease (an owner and a time): whoever works on an item holds it
until the lease runs out; a worker that died loses its items to the next claim. Claims
and finishes are single conditional statements, so two claimers never both win an item
and an item is finished once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.orm import Session

from service.registry.models import BatchItem, BatchJob

TERMINAL = ("done", "failed", "cancelled")


def get_job(session: Session, job_id: str) -> BatchJob | None:
    return session.get(BatchJob, job_id)


def job_by_key(session: Session, job_key: str) -> BatchJob | None:
    return session.scalars(select(BatchJob).where(BatchJob.job_key == job_key)).first()


def recent_jobs(session: Session, limit: int = 50, created_by: str | None = None) -> list[BatchJob]:
    """The latest jobs; ``created_by``: only that owner's (``role:key id``)."""
    query = select(BatchJob).order_by(BatchJob.created_at.desc()).limit(limit)
    if created_by is not None:
        query = query.where(BatchJob.created_by == created_by)
    return list(session.scalars(query))


def open_jobs(session: Session, engine: str | None = None) -> list[BatchJob]:
    query = select(BatchJob).where(BatchJob.state.in_(("queued", "running"))).order_by(BatchJob.created_at)
    if engine:
        query = query.where(BatchJob.engine == engine)
    return list(session.scalars(query))


def add_items(session: Session, job_id: str, items: Iterable[tuple[str, dict | None]]) -> int:
    rows = [
        {"job_id": job_id, "seq": seq, "target": target, "payload": payload, "state": "pending", "attempts": 0}
        for seq, (target, payload) in enumerate(items, start=1)
    ]
    if rows:
        session.execute(cast(Table, BatchItem.__table__).insert(), rows)  # a Core insert: rows as they are
    return len(rows)


def counts(session: Session, job_id: str) -> dict[str, int]:
    rows = session.execute(
        select(BatchItem.state, func.count()).where(BatchItem.job_id == job_id).group_by(BatchItem.state)
    )
    return {state: n for state, n in rows}


def leased(session: Session, job_id: str, now: datetime) -> int:
    """Items someone holds right now (a live lease)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(BatchItem)
            .where(BatchItem.job_id == job_id, BatchItem.state == "pending", BatchItem.lease_until >= now)
        )
        or 0
    )


def free_count(session: Session, job_id: str, now: datetime) -> int:
    """Items nobody holds and nobody has finished."""
    return (
        session.scalar(select(func.count()).select_from(BatchItem).where(BatchItem.job_id == job_id, _free(now))) or 0
    )


def _free(now: datetime):
    return and_(BatchItem.state == "pending", or_(BatchItem.lease_until.is_(None), BatchItem.lease_until < now))


def claim(
    session: Session,
    job_id: str,
    owner: str,
    now: datetime,
    until: datetime,
    limit: int,
    ids: Sequence[int] | None = None,
    max_attempts: int | None = None,
) -> list[int]:
    """Lease up to ``limit`` free items of ``job_id`` (or exactly ``ids``, those still free),
    leaving those already tried ``max_attempts`` times."""
    claimable = _free(now) if max_attempts is None else and_(_free(now), BatchItem.attempts < max_attempts)
    if ids is None:
        ids = list(
            session.scalars(
                select(BatchItem.id).where(BatchItem.job_id == job_id, claimable).order_by(BatchItem.seq).limit(limit)
            )
        )
    if not ids:
        return []
    won = session.scalars(
        update(BatchItem)
        .where(BatchItem.id.in_(ids), claimable)
        .values(lease_owner=owner, lease_until=until, attempts=BatchItem.attempts + 1)
        .returning(BatchItem.id)
    )
    return sorted(won)


def owned(session: Session, item_id: int, owner: str) -> BatchItem | None:
    """The item, if it is still pending and leased to ``owner``."""
    return session.scalars(
        select(BatchItem).where(BatchItem.id == item_id, BatchItem.state == "pending", BatchItem.lease_owner == owner)
    ).first()


def finish(
    session: Session,
    item_id: int,
    owner: str,
    now: datetime,
    *,
    state: str,
    outcome: str | None = None,
    reason: str | None = None,
    number: str | None = None,
    version: int | None = None,
    pdf_sha256: str | None = None,
) -> bool:
    """Finish an item leased to ``owner``; False when it is no longer (another took it)."""
    result = session.execute(
        update(BatchItem)
        .where(BatchItem.id == item_id, BatchItem.state == "pending", BatchItem.lease_owner == owner)
        .values(
            state=state,
            outcome=outcome,
            reason=reason,
            number=number,
            version=version,
            pdf_sha256=pdf_sha256,
            finished_at=now,
            lease_until=None,
        )
    )
    return result.rowcount == 1  # type: ignore[attr-defined]  # CursorResult has rowcount; SQLAlchemy types execute() as Result


def release(session: Session, ids: Sequence[int], owner: str) -> None:
    """Give back items still pending (a worker that died holding them: retry now)."""
    if ids:
        session.execute(
            update(BatchItem)
            .where(BatchItem.id.in_(ids), BatchItem.state == "pending", BatchItem.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )


def release_owner_prefix(session: Session, prefix: str) -> int:
    """Give back every pending item leased by an owner whose name starts with ``prefix``."""
    result = session.execute(
        update(BatchItem)
        .where(BatchItem.state == "pending", BatchItem.lease_owner.startswith(prefix))
        .values(lease_owner=None, lease_until=None)
    )
    return result.rowcount  # type: ignore[attr-defined]  # CursorResult has rowcount; SQLAlchemy types execute() as Result


def cancel_pending(session: Session, job_id: str, now: datetime) -> int:
    """Cancel the items nobody holds (those in work finish as they are)."""
    result = session.execute(
        update(BatchItem)
        .where(BatchItem.job_id == job_id, _free(now))
        .values(state="cancelled", finished_at=now, reason="任务已取消")
    )
    return result.rowcount  # type: ignore[attr-defined]  # CursorResult has rowcount; SQLAlchemy types execute() as Result


def free_items(
    session: Session,
    job_id: str,
    now: datetime,
    sent_before: datetime | None = None,
    limit: int = 10_000,
    *,
    never_sent: bool = False,
) -> list[int]:
    """Free items (no live lease); with ``sent_before``, only those not sent to the queue
    since; with ``never_sent``, only those never sent."""
    query = select(BatchItem.id).where(BatchItem.job_id == job_id, _free(now))
    if never_sent:
        query = query.where(BatchItem.enqueued_at.is_(None))
    elif sent_before is not None:
        query = query.where(or_(BatchItem.enqueued_at.is_(None), BatchItem.enqueued_at < sent_before))
    return list(session.scalars(query.order_by(BatchItem.seq).limit(limit)))


def mark_sent(session: Session, ids: Sequence[int], now: datetime) -> None:
    if ids:
        session.execute(update(BatchItem).where(BatchItem.id.in_(ids)).values(enqueued_at=now))


def failures(session: Session, job_id: str, limit: int = 200) -> list[BatchItem]:
    return list(
        session.scalars(
            select(BatchItem)
            .where(BatchItem.job_id == job_id, BatchItem.state == "failed")
            .order_by(BatchItem.seq)
            .limit(limit)
        )
    )


def results(session: Session, job_id: str) -> list[BatchItem]:
    """Items that produced a certificate file, in order."""
    return list(
        session.scalars(
            select(BatchItem)
            .where(BatchItem.job_id == job_id, BatchItem.state == "done", BatchItem.pdf_sha256.is_not(None))
            .order_by(BatchItem.seq)
        )
    )


def first_and_last_finish(session: Session, job_id: str) -> tuple[datetime | None, datetime | None]:
    first, last = session.execute(
        select(func.min(BatchItem.finished_at), func.max(BatchItem.finished_at)).where(
            BatchItem.job_id == job_id, BatchItem.state.in_(("done", "failed"))
        )
    ).one()
    return first, last


def fail_exhausted(session: Session, job_id: str, max_attempts: int, now: datetime, reason: str) -> int:
    """Fail the free items that were taken ``max_attempts`` times and never finished: each
    attempt ended in a timeout or a crash, and another would end the same way."""
    result = session.execute(
        update(BatchItem)
        .where(BatchItem.job_id == job_id, _free(now), BatchItem.attempts >= max_attempts)
        .values(state="failed", reason=reason, finished_at=now)
    )
    return result.rowcount  # type: ignore[attr-defined]  # CursorResult has rowcount; SQLAlchemy types execute() as Result


def state_counts_of(factory) -> tuple[dict[str, int], dict[str, int]]:
    """:func:`state_counts` in a session of its own (``factory``: a sessionmaker)."""
    with factory() as session:
        return state_counts(session)


def state_counts(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    """Jobs by state, and the items of queued and running jobs by state (for the metrics)."""
    jobs = dict(session.execute(select(BatchJob.state, func.count()).group_by(BatchJob.state)).all())
    items = dict(
        session.execute(
            select(BatchItem.state, func.count())
            .join(BatchJob, BatchJob.id == BatchItem.job_id)
            .where(BatchJob.state.in_(("queued", "running")))
            .group_by(BatchItem.state)
        ).all()
    )
    return jobs, items


def open_issue_item(session: Session, declaration_id: str) -> tuple[BatchItem, BatchJob] | None:
    """The item of a queued or running ``issue`` job that will issue ``declaration_id``, if
    one is still to do (the earliest job's, when two jobs carry it)."""
    row = session.execute(
        select(BatchItem, BatchJob)
        .join(BatchJob, BatchJob.id == BatchItem.job_id)
        .where(
            BatchItem.target == declaration_id,
            BatchItem.state == "pending",
            BatchJob.kind == "issue",
            BatchJob.state.in_(("queued", "running")),
        )
        .order_by(BatchJob.created_at)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else None


def pending_before(session: Session, job_id: str, seq: int) -> int:
    """Items of the job still to do that come before ``seq`` (the order they are claimed in)."""
    query = select(func.count()).where(BatchItem.job_id == job_id, BatchItem.state == "pending", BatchItem.seq < seq)
    return int(session.scalar(query) or 0)
