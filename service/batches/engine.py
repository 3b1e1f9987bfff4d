"""Engines that work through open jobs: the local pool (embedded default) and Celery.

Both run the same item code (:mod:`service.batches.work`); they differ in who holds the
items. One *coordinator* per data dir (a file lock: the first service process, or the
``batch`` command when no service runs) starts jobs, closes them, and
* local: leases chunks of items and hands them to its pool of worker processes;
* Celery: sends chunks to the queue and sends again what was not picked up in time (a
  Redis that restarted empty loses nothing: the items are in the registry).
A coordinator that takes over releases the leases its dead predecessors held.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import socket
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, TextIO

from service.batches.catalog import kind_named
from service.batches.chunks import EXHAUSTED, claim_chunk, work_claimed
from service.batches.progress import settle
from service.batches.work import run_items, warm_sealing
from service.errors import InvalidInput, ServiceError
from service.registry import batches as repo
from service.registry.db import transaction
from service.workers.pool import WorkerPool

if TYPE_CHECKING:  # the composition root imports this flow: the type only
    from service.services import Services

log = logging.getLogger(__name__)
LOCAL_PREFIX = "local:"
RESEND_AT_DEPTH = 0  # messages waiting in the queue at most, for items sent before to go again


def engine_name(services: Services) -> str:
    return "celery" if services.settings.queue_url else "local"


class Coordinator:
    """The thread that moves open jobs along. ``start()`` it; ``wake()`` it when a job is
    created; ``stop()`` it at shutdown."""

    def __init__(self, services: Services, pool: WorkerPool | None = None, *, poll_seconds: float = 0.5):
        self.services = services
        self.settings = services.settings
        self.kind = engine_name(services)
        self.pool = pool
        self.owner = f"{LOCAL_PREFIX}{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_file: TextIO | None = None
        self.active = False  # holds the coordinator lock
        self._celery = None

    @property
    def _chunks_in_flight(self) -> int:
        """A chunk per worker and its next one (see ``_tick``)."""
        return 2 * (self.pool.size if self.pool is not None else 1)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="batch-coordinator", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._lock_file is not None:
            self._lock_file.close()

    def run_until_idle(self) -> None:
        """Work in this thread until no local job is open (the batch command, tests)."""
        if not self._take_lock():
            raise ServiceError("另一个进程正在执行批量任务（服务或另一条 batch 命令）")
        in_flight: dict = {}
        with ThreadPoolExecutor(self._chunks_in_flight) as executor:
            while not self._stop.is_set() and self._tick(executor, in_flight):
                pass

    # --- the loop -----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set() and not self._take_lock():
            self._stop.wait(5)  # another process coordinates; take over if it goes
        if self.pool is not None and self.settings.batch_warm and not self._stop.is_set():
            self.pool.start_in_background(warm_sealing)  # a job then begins at once
        in_flight: dict[Future, tuple[str, list[int]]] = {}
        with ThreadPoolExecutor(self._chunks_in_flight, thread_name_prefix="batch-chunk") as executor:
            while not self._stop.is_set():
                try:
                    busy = self._tick(executor, in_flight)
                except Exception:  # noqa: BLE001 - the coordinator must outlive a bad moment (DB restart)
                    log.exception("batch coordinator: error; trying again")
                    busy = False
                if not busy:
                    self._wake.wait(self.poll_seconds)
                    self._wake.clear()

    def _take_lock(self) -> bool:
        if self.active:
            return True
        path = self.settings.data_dir / ".batch-coordinator.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock_file, self.active = handle, True
        with transaction(self.services.sessions) as session:
            released = repo.release_owner_prefix(session, LOCAL_PREFIX)
        if released:
            log.warning("batch coordinator: took back %d items from a worker that stopped", released)
        return True

    def _tick(self, executor: ThreadPoolExecutor, in_flight: dict) -> bool:
        """One round: settle open jobs, keep the workers fed. True while work is open."""
        with self.services.sessions() as session:
            jobs = [(j.id, j.engine, j.kind) for j in repo.open_jobs(session)]
        for job_id, _, _ in jobs:
            settle(self.services, job_id)
        local = [(job_id, kind) for job_id, engine, kind in jobs if engine == "local"]
        if self.kind == "celery" or any(engine == "celery" for _, engine, _ in jobs):
            self._resend([job_id for job_id, engine, _ in jobs if engine == "celery"])
        if self.pool is None or not local:
            return bool(in_flight) or bool(local)
        self._collect(in_flight, block=False)
        # Two chunks per worker, the one it works on and the next, claimed and waiting for it:
        # a worker that finishes a chunk starts the next at once instead of idling while this
        # thread (which shares the API's process and the registry's write lock) settles and
        # claims. A waiting chunk's time budget starts when a worker takes it.
        for job_id, kind in local:  # oldest job first; a newer one gets the workers the older leaves
            # The kind's item function travels to the worker by reference: a kind registered
            # in this process (not in the catalog) is worked there too.
            try:
                run_item = kind_named(kind).run_item
            except InvalidInput:
                log.error(
                    "batch %s: its kind %r is not known to this service (not registered); left as it is", job_id, kind
                )
                continue
            while len(in_flight) < self._chunks_in_flight:
                ids = claim_chunk(self.services, job_id, self.owner, self._chunk(job_id))
                if not ids:
                    break
                in_worker = partial(
                    self.pool.run_sync,
                    run_items,
                    run_item=run_item,
                    timeout=self.settings.batch_item_timeout_seconds * len(ids),
                )
                in_flight[executor.submit(work_claimed, self.services, job_id, ids, self.owner, in_worker)] = (
                    job_id,
                    ids,
                )
        if in_flight:
            self._collect(in_flight, block=True)
            return True
        return False

    def _chunk(self, job_id: str) -> int:
        """``batch_chunk`` items, fewer towards the end of a job: its last chunks are shared
        out among the workers instead of one worker finishing a whole chunk alone."""
        with self.services.sessions() as session:
            free = repo.free_count(session, job_id, self.services.clock())
        share = -(-free // self._chunks_in_flight)
        return max(1, min(self.settings.batch_chunk, share))

    def _collect(self, in_flight: dict, block: bool) -> None:
        if not in_flight:
            return
        finished, _ = wait(list(in_flight), timeout=self.poll_seconds if block else 0, return_when=FIRST_COMPLETED)
        for future in finished:
            job_id, ids = in_flight.pop(future)
            try:
                future.result()  # what it left undone is free again already (work_claimed)
            except Exception as exc:  # noqa: BLE001 - a worker died or timed out: its items go back
                log.error(
                    "batch %s: a chunk of %d items was interrupted (%s); they will be retried", job_id, len(ids), exc
                )
            # The next round settles the job (closes it when this was its last chunk).

    # --- Celery ---------------------------------------------------------------------------

    def _resend(self, job_ids: list[str]) -> None:
        """Send the items of Celery jobs that no worker holds and nobody sent lately."""
        if not job_ids:
            return
        from service.batches.queue import queue_depth, send_chunks

        now = self.services.clock()
        cutoff = now - timedelta(seconds=self.settings.batch_requeue_seconds)
        # A chunk sent again goes behind every message already waiting. While the queue
        # still holds messages, items sent long ago are waiting their turn, not lost, and a
        # second copy would only lengthen the queue (a season of 5,000 sent each item up to
        # four times, and each copy cost a claim and a settle). So items sent before are
        # sent again once the queue has run dry (or when the broker cannot say how long it
        # is: Redis has no empty queue, and none after a restart); new items go out at once.
        depth = queue_depth(self.settings)
        again = depth is None or depth <= RESEND_AT_DEPTH
        for job_id in job_ids:
            with transaction(self.services.sessions) as session:
                job = repo.get_job(session, job_id)
                if job is None or job.cancel_requested:
                    continue
                if again:
                    repo.fail_exhausted(session, job_id, self.settings.batch_max_attempts, now, EXHAUSTED)
                    ids = repo.free_items(session, job_id, now, sent_before=cutoff)
                else:
                    ids = repo.free_items(session, job_id, now, never_sent=True)
                if ids:
                    send_chunks(self.settings, job_id, ids)
                    repo.mark_sent(session, ids, now)
