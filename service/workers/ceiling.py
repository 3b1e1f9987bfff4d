"""The last line under every budget: a ceiling on what one task may add to its worker's
address space (``RLIMIT_AS``), and a reading of how much resident memory it took.

The budgets (inflated bytes, rows, pixels) refuse what they can see coming; the ceiling
catches what they cannot, in C code (pdfium, HarfBuzz) as much as in Python: past it an
allocation fails, Python raises ``MemoryError`` (answered as 「文件内容过多」 and the
worker replaced), and a library that cannot fail an allocation kills only its worker,
which the pool answers the same way. The service, and every other request, lives on.

The ceiling is relative (the address space at the task's start plus ``extra_mb``), so a
worker that imported more, or reserved more, is not punished for it; and the resident
peak it allows is at most ``extra_mb`` over the worker's idle size.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager

MB = 1024 * 1024
_M_ARENA_MAX = -8  # glibc's mallopt parameter


def one_malloc_arena() -> None:
    """glibc gives each thread that allocates a 64 MB arena of address space: under a
    ceiling of a few hundred MB two or three threads (pyHanko's, pdfium's) would spend it
    on reservations. One arena: the memory a task uses, not the threads it runs."""
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        ctypes.CDLL(name).mallopt(_M_ARENA_MAX, 1)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


@contextmanager
def address_space_ceiling(extra_mb: int | None) -> Iterator[None]:
    """While the block runs, allocations past the current address space + ``extra_mb`` fail."""
    if not extra_mb:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _status_kb("VmSize") * 1024 + extra_mb * MB
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def reset_peak_rss() -> bool:
    """Start this process's resident peak (VmHWM) again from now; False where the kernel
    does not allow it (then the peak is the process's whole life's)."""
    try:
        with open(f"/proc/{os.getpid()}/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    return _status_kb("VmHWM") / 1024


def rss_mb() -> float:
    return _status_kb("VmRSS") / 1024


def _status_kb(field: str) -> int:
    try:
        with open(f"/proc/{os.getpid()}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
