"""What a kind of batch job is, as one record: adding a kind is one module with its
:class:`BatchKind` (and its tests), named in :mod:`service.batches.catalog`, or
:func:`register` for one that lives elsewhere. Nothing else keys on a kind's name: the
API, the staff page, the registry and the engines read these records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from service.registry.models import BatchItem, BatchJob
    from service.services import Services

# (session, the request, now) -> (target, payload) per item: a certificate number and
# nothing, or a declaration id and its request
SelectItems = Callable[[Session, Any, datetime], Iterable[tuple[str, dict | None]]]
# (services, the job, one item leased to owner, owner): do it exactly once, finishing the
# item in the transaction that changes the certificate (service.batches.items)
RunItem = Callable[["Services", "BatchJob", "BatchItem", str], None]


@dataclass(frozen=True)
class BatchKind:
    name: str  # the job's ``kind`` in the API and the registry
    title: str  # how the staff page and the messages name it (加盖印章)
    request: type[BaseModel]  # the job as asked: a model with ``kind: Literal[name]``, validated once
    select_items: SelectItems
    run_item: RunItem
    outcomes: Mapping[str, str]  # an item's outcome -> how the staff page words it
    roles: tuple[str, ...] = ("staff",)  # who may submit it (staff and admin always may)
    # what the job row keeps of the request (default: the request itself, as JSON)
    params: Callable[[Any], dict] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def params_of(self, request: BaseModel) -> dict:
        return self.params(request) if self.params else request.model_dump(mode="json", exclude_none=True)


_REGISTERED: dict[str, BatchKind] = {}


def register(kind: BatchKind) -> BatchKind:
    """Add a kind that is not in the catalog (a province's own, a test's)."""
    _REGISTERED[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    _REGISTERED.pop(name, None)


def registered() -> dict[str, BatchKind]:
    return dict(_REGISTERED)
