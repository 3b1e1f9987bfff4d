"""Every kind of batch job, by name: the service's own, then any registered."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from service.batches import issue_kind, renew_kind, seal_kind
from service.batches.kinds import BatchKind, registered
from service.errors import FieldError, InvalidInput


def all_kinds() -> dict[str, BatchKind]:
    kinds = [seal_kind.KIND, issue_kind.KIND, renew_kind.KIND]
    return {kind.name: kind for kind in kinds} | registered()


def kind_named(name: object) -> BatchKind:
    """The kind ``name``, or a 422 that lists the kinds there are."""
    kinds = all_kinds()
    if isinstance(name, str) and name in kinds:
        return kinds[name]
    known = "、".join(f"{k.name}（{k.title}）" for k in kinds.values())
    message = f"任务类型 kind 应为以下之一：{known}"
    raise InvalidInput(message, errors=[FieldError("kind", message, "literal_error")])


def job_request_type() -> Any:
    """Any kind's request, told apart by ``kind`` (for the API's schema)."""
    models = tuple(kind.request for kind in all_kinds().values())
    union: Any = models[0]  # a model, then a union of them: a type built at run time
    for model in models[1:]:
        union = union | model
    return Annotated[union, Field(discriminator="kind")]


def outcome_titles() -> dict[str, str]:
    """Every kind's item outcomes, as the staff page words them."""
    titles: dict[str, str] = {}
    for kind in all_kinds().values():
        titles.update(kind.outcomes)
    return titles
