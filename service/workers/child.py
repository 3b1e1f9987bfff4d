"""A worker process: receives ``(task, args, kwargs)`` on its pipe, answers
``(outcome, value, rss_mb)``; builds the services (renderer, seals, registry) on its
first task and keeps them for its life.

The request id the task was sent with is the context's while it runs, so that the
worker's log lines join the request's. Errors the caller can act on (``ServiceError``, and those the setup passes) travel back as they are;
anything else is logged here, with its traceback, and answered as ``WorkerFailed``.
"""

from __future__ import annotations

import logging
import os
import resource
import time
from dataclasses import dataclass

from service.config import Settings
from service.errors import FieldError, ServiceError, TooMuchContent
from service.workers import ceiling
from service.workers.tasks import WorkerSetup, task_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ceiling:
    """The most one task may add to its worker's address space, and what a task that runs
    into it is answered (the pool's: an upload check says 「文件内容过多」)."""

    mb: int
    message: str = "内容过多：处理所需的内存超过上限，无法处理；请拆分、精简后重试"
    path: str = "(body)"

    def refusal(self) -> TooMuchContent:
        return TooMuchContent(self.message, errors=[FieldError(self.path, self.message, "too_much_content")])


def main(conn, settings: Settings, setup: WorkerSetup, nice: int = 0, limit: Ceiling | None = None) -> None:
    """``setup``: how to build the services and translate errors; ``limit``: the memory
    ceiling of each task (none: unbounded)."""
    from service.observability.context import bound_request_id
    from service.observability.logs import configure_logging
    from service.runtime import die_with_parent, quiet_libraries, tune_gc

    # The fork server is this process's parent; it leaves when the service process does,
    # and this one with it, busy or not.
    die_with_parent()
    _let_the_fork_server_go()
    name_process()
    # A process of a fork server: it inherits no logging set-up from the service.
    configure_logging(settings.log_format or "json", settings.log_level)
    if nice:
        os.nice(nice)
    tune_gc()
    quiet_libraries()
    if limit is not None:
        ceiling.one_malloc_arena()
    state: dict = {"services": None, "limit": limit, "exit": False, "setup": setup}
    while True:
        try:
            task, args, kwargs, request_id = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return  # the service closed the pipe: done
        except Exception:  # noqa: BLE001 - a message that does not unpickle: answer, stay alive
            log.exception("worker could not read its task")
            task, args, kwargs, request_id = None, (), {}, None
        with bound_request_id(request_id):
            started = time.perf_counter()
            ceiling.reset_peak_rss()
            idle = ceiling.rss_mb()
            outcome, value = _run(state, settings, task, args, kwargs)
            grew = max(0.0, ceiling.peak_rss_mb() - idle)
            name = task_name(task) or "(not a task)"
            log.info(
                "task %s %s in %.0f ms",
                name,
                "done" if outcome == "ok" else "failed",
                (time.perf_counter() - started) * 1000,
                extra={"task": name, "outcome": outcome, "peak_growth_mb": round(grew, 1)},
            )
        try:
            conn.send((outcome, value, rss_mb(), grew))
        except (OSError, BrokenPipeError):
            return
        if state["exit"]:
            return  # after a MemoryError nothing in this process is to be trusted: a fresh one


def name_process() -> None:
    """``zc-uploads-0``, ``zc-batch-1``...: what ``ps`` and ``top`` show for this worker,
    so that an operator (and the benchmarks) can tell the pools apart."""
    import ctypes
    import ctypes.util
    import multiprocessing

    name = multiprocessing.current_process().name.replace("-worker", "")[:15].encode()
    libc_name = ctypes.util.find_library("c")
    try:
        if libc_name:
            ctypes.CDLL(libc_name).prctl(15, ctypes.c_char_p(name), 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def _let_the_fork_server_go() -> None:
    """Close this process's copy of the fork server's "alive" pipe. multiprocessing hands
    it to every child so that the fork server stays while any child lives; but then a
    child busy with a long task keeps the fork server (its parent) alive after the service
    died, and the parent-death signal that would stop the child never comes. Without the
    copy, the fork server leaves with the service, and every child with it. (Private to
    multiprocessing.forkserver, CPython 3.8-3.13; absent, there is nothing to close.)"""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if server is not None and isinstance(fd, int):
        try:
            os.close(fd)
        except OSError:
            pass
        server._forkserver_alive_fd = None


def _run(state: dict, settings: Settings, task, args: tuple, kwargs: dict) -> tuple[str, object]:
    """(``ok``, the task's value) or (``error``, what the caller is to raise)."""
    setup: WorkerSetup = state["setup"]
    name = task_name(task) if callable(task) else None
    try:
        if name is None:
            raise ServiceError("未知的处理任务")
        services = state["services"]
        if services is None:
            services = state["services"] = setup.build(settings)
        # The ceiling covers the task, not the start-up above (imports, fonts, keys).
        limit = state["limit"]
        with ceiling.address_space_ceiling(limit.mb if limit else None):
            return "ok", task(services, *args, **kwargs)
    except MemoryError:
        state["exit"] = True
        limit = state["limit"] or Ceiling(0)
        log.warning("task %s ran into the worker's memory ceiling (%s MB): refused", name, limit.mb)
        return "error", limit.refusal()
    except ServiceError as exc:
        return "error", exc
    except setup.passes as exc:
        return "error", exc
    except Exception as exc:  # noqa: BLE001 - the worker must answer whatever happens
        known = setup.translate(exc)
        if known is None:
            log.exception("worker task %s failed", name)
            known = ServiceError("处理失败：服务内部错误，请稍后重试或联系管理员")
        return "error", known


def rss_mb() -> int:
    """This process's resident memory now (not its peak), in MB."""
    try:
        with open(f"/proc/{os.getpid()}/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() // (1024 * 1024)
    except OSError:
        return 0
