"""Process-wide tuning for the service's worker processes (not applied on import)."""

from __future__ import annotations

import gc
import logging


def tune_gc() -> None:
    """Collect young garbage less often.

    Laying out a form allocates millions of short-lived objects; with
    CPython's default generation-0 threshold (700) the cyclic collector runs
    thousands of times per document and costs about a tenth of the render
    time (bench/results/render.md). Memory stays bounded: the threshold is a
    count of objects, and older generations are still collected.
    """
    gc.set_threshold(100_000, 50, 50)


def freeze_startup_objects() -> None:
    """Move everything allocated at start-up (modules, fonts, templates) out of
    the collector's reach, so that later collections do not rescan it."""
    gc.collect()
    gc.freeze()


# WeasyPrint logs a line per layout step at INFO (``weasyprint.progress``), fontTools one
# per subset table: they drown the service's own lines.
QUIET_LOGGERS = ("weasyprint.progress", "fontTools")


def quiet_libraries() -> None:
    """Raise the chatty libraries' loggers to WARNING."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


_PR_SET_PDEATHSIG = 1  # linux/prctl.h
SUPERVISOR_ENV = "ZC_SUPERVISOR_PID"


def die_with_parent(expected_parent: int | None = None) -> bool:
    """Have the kernel kill this process when the process that started it dies, by any
    signal (SIGKILL by an OOM killer included): a restarted ``serve`` must never meet
    orphans holding its port, the coordinator's lock or an item's lease. ``expected_parent``:
    the parent this process was started by; if it is already gone (it died before this
    call), leave now. False where the kernel offers no such thing (not Linux)."""
    import ctypes
    import ctypes.util
    import os
    import signal

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True) if name else None
        done = libc is not None and libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        done = False
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(1)
    return done
