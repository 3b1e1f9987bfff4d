"""What every kind's item code shares: how an item fails, finishes, and is attributed.

An item ends in one transaction that both changes the certificate and finishes the item
(:func:`finish_item` in that transaction), and the change is conditional: a worker
killed half-way, a job run twice, two jobs over the same certificates, all end with
every certificate changed once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from service.registry import batches as items_repo

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from service.registry.models import BatchItem, BatchJob


class ItemFailed(Exception):
    """This item cannot be done: its reason, in Chinese, for the job's list of failures."""


class Lost(Exception):
    """Another worker finished the item first: this one's work is rolled back."""


def finish_item(session: Session, item: BatchItem, owner: str, now: datetime, **result) -> None:
    """Finish ``item`` as done with ``result`` (outcome, number, version, file), in the
    caller's transaction; :class:`Lost` if it is no longer ``owner``'s."""
    if not items_repo.finish(session, item.id, owner, now, state="done", **result):
        raise Lost()


def actor_of(job: BatchJob) -> str:
    """Who an audit event of the job's work names."""
    return f"batch:{job.id} ({job.created_by})"


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
