"""The worker pool: CPU work (layout, rasterising, sealing) in child processes, bounded.

Why processes and not the thread pool: WeasyPrint holds the GIL for seconds on a long
document and cannot be interrupted; a child process can be stopped when its time is up,
replaced when a big document has left it with memory the allocator keeps, and its crash
is not the service's. The event loop only waits on a pipe.

Admission: at most ``size`` tasks run and ``max_waiting`` wait; one more is refused at
once (``Busy``: 503 with Retry-After) instead of queueing without bound. Workers start on
first use, from a fork server that has the service's modules imported (started when the
service starts: :func:`warm_up_in_background`), so a start costs tens of milliseconds plus
the worker's own warm-up.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

from service.config import Settings
from service.errors import ServiceError, Unavailable
from service.observability import metrics
from service.observability.context import bound_request_id, current_request_id
from service.workers import child
from service.workers.tasks import WorkerSetup, task_name

log = logging.getLogger(__name__)


class Busy(Unavailable):
    code = "busy"


class TimedOut(ServiceError):
    status = 504
    code = "timeout"


class WorkerFailed(ServiceError):
    """The worker died or failed unexpectedly: logged there, answered as a 500 here."""

    code = "worker_failed"


def default_size(settings: Settings, service_processes: int = 1) -> int:
    if settings.work_processes:
        return settings.work_processes
    return max(1, (os.cpu_count() or 1) // max(1, service_processes))


@dataclass
class _Slot:
    """One worker process and the parent's end of its pipe; used by one task at a time."""

    index: int
    process: multiprocessing.process.BaseProcess | None = None
    conn: Any = None
    tasks: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def stop(self) -> None:
        # Taken first: the pool's close() may stop a slot whose task thread stops it too.
        process, conn = self.process, self.conn
        self.process, self.conn, self.tasks = None, None, 0
        if process is not None:
            process.kill()
            process.join(timeout=5)
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass  # closed by the other one


class WorkerPool:
    def __init__(
        self,
        settings: Settings,
        setup: WorkerSetup,
        size: int | None = None,
        *,
        max_waiting: int | None = None,
        timeout: float | None = None,
        max_rss_mb: int | None = None,
        nice: int = 0,
        name: str = "requests",
        ceiling: child.Ceiling | None = None,
    ):
        """``nice``: the workers' scheduling priority (a batch pool yields to the requests);
        ``name``: the pool's label in the metrics; ``ceiling``: what one task may add to
        its worker's memory (beyond: its ``refusal``, a 422, and the worker replaced)."""
        self.settings = settings
        self.setup = setup
        self.nice = nice
        self.ceiling = ceiling
        self.peak_growth_mb: dict[str, float] = {}  # the last task of each name: its worker's resident peak over idle
        self.name = name
        self.size = size or default_size(settings)
        self.max_waiting = settings.work_queue if max_waiting is None else max_waiting
        self.timeout = timeout or settings.render_timeout_seconds
        self.max_rss_mb = max_rss_mb or settings.worker_max_rss_mb
        self._slots = [_Slot(i) for i in range(self.size)]
        self._free: asyncio.Queue[_Slot] | None = None
        self._waiting = 0
        # Threads that wait on the pipes: their own, so that waiting never takes a thread
        # the requests that do not render need.
        self._threads = ThreadPoolExecutor(self.size, thread_name_prefix="worker-pipe")
        self._closed = False
        self._slot_freed = threading.Condition()  # run_sync's callers wait on it for a worker
        self._publish()  # the queue's gauges from the start, at zero

    # --- the caller's side -------------------------------------------------------------

    async def run(
        self, task: Callable[..., Any], *args: Any, timeout: float | None = None, admitted: bool = False, **kwargs: Any
    ) -> Any:
        """Run ``task`` (a function marked :func:`~service.workers.tasks.worker_task`) with
        ``args`` in a worker; its result, or the ``ServiceError`` it raised, raised here. ``admitted``: the
        caller is bounded already (public uploads, a few at a time) and waits its turn
        instead of counting against the queue."""
        free = self._queue()
        if free.empty() and self._waiting >= self.max_waiting and not admitted:
            raise Busy("服务繁忙：文档生成队列已满，请稍后重试", headers={"Retry-After": "5"})
        counted = not admitted
        self._waiting += counted
        self._publish()
        try:
            slot = await free.get()
        finally:
            self._waiting -= counted
            self._publish()
        try:
            loop = asyncio.get_running_loop()
            # The request's id travels with the task (run_in_executor does not carry the context).
            return await loop.run_in_executor(
                self._threads,
                self._call,
                slot,
                task,
                args,
                kwargs,
                timeout or self.timeout,
                False,
                current_request_id(),
            )
        finally:
            free.put_nowait(slot)

    def run_sync(self, task: Callable[..., Any], *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """The same from a thread without an event loop (command line, batch runner): waits
        for a free worker however long the queue."""
        while True:
            for slot in self._slots:
                if slot.lock.acquire(blocking=False):
                    try:
                        return self._call(
                            slot,
                            task,
                            args,
                            kwargs,
                            timeout or self.timeout,
                            locked=True,
                            request_id=current_request_id(),
                        )
                    finally:
                        self._release(slot)
            with self._slot_freed:
                self._slot_freed.wait(0.01)  # woken when a slot frees; the timeout covers a wake-up missed

    def _release(self, slot: _Slot) -> None:
        slot.lock.release()
        with self._slot_freed:
            self._slot_freed.notify()

    def start_in_background(self, task: Callable[..., Any]) -> list[threading.Thread]:
        """Start every worker now and run ``task`` (a warm-up) in each, from threads of
        their own; a caller meanwhile waits for the worker as it would for a busy one."""

        def start(slot: _Slot) -> None:
            slot.lock.acquire()
            try:
                self._call(slot, task, (), {}, self.timeout, locked=True)
            except Exception as exc:  # noqa: BLE001 - a warm-up that fails leaves the work to the first task
                log.warning(
                    "%s worker %d: %s at start failed (%s); it runs on the first task instead",
                    self.name,
                    slot.index,
                    task,
                    exc,
                )
            finally:
                self._release(slot)

        threads = [
            threading.Thread(target=start, args=(slot,), name=f"{self.name}-warm-{slot.index}", daemon=True)
            for slot in self._slots
        ]
        for thread in threads:
            thread.start()
        return threads

    @property
    def busy(self) -> int:
        return sum(1 for s in self._slots if s.lock.locked())

    def close(self) -> None:
        self._closed = True
        for slot in self._slots:
            slot.stop()
        self._threads.shutdown(wait=False, cancel_futures=True)

    def worker_pids(self) -> list[int]:
        pids = []
        for slot in self._slots:
            process = slot.process
            # A live process has a pid (is_alive() is False before start()).
            if process is not None and process.is_alive() and process.pid is not None:
                pids.append(process.pid)
        return pids

    # --- in a pipe thread ----------------------------------------------------------------

    def _queue(self) -> asyncio.Queue[_Slot]:
        if self._free is None:  # made on first use, inside the running loop
            self._free = asyncio.Queue()
            for slot in self._slots:
                self._free.put_nowait(slot)
        return self._free

    def _publish(self) -> None:
        metrics.set_queue(self.name, self._waiting, self.busy)

    def _call(
        self,
        slot: _Slot,
        task: Callable[..., Any],
        args: tuple,
        kwargs: dict,
        timeout: float,
        locked: bool = False,
        request_id: str | None = None,
    ) -> Any:
        with bound_request_id(request_id):  # this thread's log lines join the request's too
            return self._call_bound(slot, task, args, kwargs, timeout, locked, request_id)

    def _call_bound(
        self,
        slot: _Slot,
        task: Callable[..., Any],
        args: tuple,
        kwargs: dict,
        timeout: float,
        locked: bool,
        request_id: str | None,
    ) -> Any:
        if not locked:
            slot.lock.acquire()
        self._publish()
        name = task_name(task) or cast(str, getattr(task, "__name__", "?"))
        started = time.perf_counter()
        outcome, value = "crashed", None
        try:
            if self._closed:
                outcome = "refused"
                raise Unavailable("服务正在停止，请稍后重试", headers={"Retry-After": "5"})
            if not slot.alive():
                slot.stop()
                self._start(slot)
            conn = slot.conn  # the slot's own may be closed under it at shutdown: then OSError here
            try:
                conn.send((task, args, kwargs, request_id))
                if not conn.poll(timeout):
                    log.error("worker %d: %s exceeded %.0f s; stopping it", slot.index, name, timeout)
                    outcome = "timeout"
                    slot.stop()
                    raise TimedOut(f"处理超时：超过 {timeout:.0f} 秒仍未完成，内容可能过多，请拆分后重试")
                outcome, value, rss_mb, grew = conn.recv()
            except (EOFError, OSError, BrokenPipeError) as exc:
                ended_by = _killed_by(slot)
                slot.stop()
                if self._closed:  # the service is stopping and stopped it
                    raise Unavailable("服务正在停止，请稍后重试", headers={"Retry-After": "5"}) from None
                log.error(
                    "worker %d died during %s (%s%s); starting another",
                    slot.index,
                    name,
                    exc,
                    f", signal {ended_by}" if ended_by else "",
                )
                if self.ceiling is not None and ended_by in _CRASHES:
                    # Under a ceiling a library that cannot fail an allocation aborts: the input did it.
                    outcome = "refused"
                    raise self.ceiling.refusal() from None
                raise WorkerFailed("处理进程意外退出，请重试；如反复出现请联系管理员") from None
            self.peak_growth_mb[name] = grew
            metrics.observe_peak_growth(self.name, name, grew)
            slot.tasks += 1
            if rss_mb > self.max_rss_mb:
                log.info(
                    "worker %d grew to %d MB after %s: replacing it to return the memory", slot.index, rss_mb, name
                )
                slot.stop()
            if outcome == "error":
                raise value
            return value
        finally:
            metrics.count_task(self.name, name, args, outcome, value, time.perf_counter() - started)
            if not locked:
                self._release(slot)
            self._publish()

    def _start(self, slot: _Slot) -> None:
        context = _context(self.setup.preload)
        parent, child_end = context.Pipe()
        process = context.Process(
            target=child.main,
            args=(child_end, self.settings, self.setup, self.nice, self.ceiling),
            daemon=True,
            name=f"zc-{self.name}-worker-{slot.index}",
        )
        process.start()
        child_end.close()
        slot.process, slot.conn, slot.tasks = process, parent, 0


# What a library that cannot fail an allocation ends in (abort, a fault): under a memory
# ceiling, the input's doing. SIGKILL and SIGTERM come from outside (a stop, the OOM killer).
_CRASHES = {signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGTRAP, signal.SIGILL, signal.SIGFPE}


def _killed_by(slot: _Slot) -> int | None:
    """The signal that ended the slot's worker, if one did (waits a moment for the exit)."""
    process = slot.process
    if process is None:
        return None
    process.join(timeout=1)
    code = process.exitcode
    return -code if code is not None and code < 0 else None


_CONTEXT = None


def warm_up_in_background(preload: tuple[str, ...]) -> threading.Thread:
    """Start the fork server now, in a thread, instead of on the first document: it imports
    ``preload`` (the flows: WeasyPrint, pyHanko, about 3 s of CPU), which would otherwise be
    added to the first request or the first batch after a start."""
    from multiprocessing import forkserver

    _context(preload)
    thread = threading.Thread(target=forkserver.ensure_running, name="forkserver-warm-up", daemon=True)
    thread.start()
    return thread


def _context(preload: tuple[str, ...] = ()):
    """A fork server with the service imported: workers start in milliseconds, and never
    inherit the threads and sockets of the service process (plain fork would). One per
    process; the modules it preloads are those of the first pool (or warm-up) to ask."""
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(["service.workers.child", *preload])
    return _CONTEXT
