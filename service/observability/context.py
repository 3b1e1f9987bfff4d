"""The request id of the work at hand, in a context variable: set by the HTTP middleware
for a request, by a worker process around a task sent on a request's behalf, and by a
batch item's worker from the request that created its job."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_REQUEST_ID: ContextVar[str | None] = ContextVar("zc_request_id", default=None)
# What a caller (a proxy, the platform) may choose as the id: short and plain, so that it
# is safe in a header, a log line and a JSON field as it is.
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def current_request_id() -> str | None:
    return _REQUEST_ID.get()


def new_request_id() -> str:
    """128 random bits as 32 hex digits (a UUID's form). An id tells requests apart in the
    logs and guards nothing, so the process's Mersenne Twister (seeded from the OS, re-seeded
    in a forked child) serves: ``uuid4`` asked the kernel on every request of a scan campaign."""
    return f"{random.getrandbits(128):032x}"  # noqa: S311 - not a secret


def accepted_request_id(incoming: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is sane, a fresh one otherwise."""
    if incoming is not None and _SANE.fullmatch(incoming):
        return incoming
    return new_request_id()


def set_request_id(request_id: str | None) -> None:
    """For the middleware: each request runs in its own task, with its own context."""
    _REQUEST_ID.set(request_id)


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """``request_id`` for the work inside the block (a worker's task, a batch item)."""
    token = _REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        _REQUEST_ID.reset(token)
