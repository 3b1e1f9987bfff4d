"""What the worker pool runs: functions the flows mark as worker tasks, and the setup the
application hands each worker process.

A task is a plain function ``task(services, *args, **kwargs)`` of the worker's services
and picklable arguments, returning a picklable value; each flow marks its own with
:func:`worker_task` and passes the function itself to ``await pool.run(task, ...)``. The
function travels to the worker by reference (its module and name), so this package
imports no flow: a new task is a function in its flow, nothing here. Only marked
functions run: a pipe message naming anything else is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from service.config import Settings
from service.errors import ServiceError

F = TypeVar("F", bound=Callable[..., Any])
_MARK = "worker_task_name"


def worker_task(name: str) -> Callable[[F], F]:
    """Mark a function as a worker task, under ``name`` (its label in logs and metrics)."""

    def mark(function: F) -> F:
        setattr(function, _MARK, name)
        return function

    return mark


def task_name(task: Callable[..., Any]) -> str | None:
    """The task's name, or None for a function that is not a worker task."""
    return getattr(task, _MARK, None)


@dataclass(frozen=True)
class WorkerSetup:
    """What the application gives every worker process (picklable: module-level functions).

    ``build(settings)``: the worker's services, built on its first task and kept;
    ``translate(exc)``: a library's or the pure core's own error as an answer a caller
    can act on, or None for a failure that is logged and answered as an internal error;
    ``preload``: the modules the fork server imports once, so that a worker starts in
    milliseconds with the flows already loaded; ``passes``: see below."""

    build: Callable[[Settings], Any]
    translate: Callable[[Exception], ServiceError | None]
    preload: tuple[str, ...] = ()
    # errors that travel back to the caller as they are, besides ServiceError (the
    # signing core's own: the caller maps them to answers)
    passes: tuple[type[Exception], ...] = ()
