"""Celery: batch items on workers that may sit on many machines (``QUEUE_URL``).

A task is a chunk of one job's items. Tasks are acknowledged late and rejected when their
worker is lost, so a killed worker's chunk goes back to the queue; each task leases its
items before working (a chunk sent twice is worked once) and closes the job when it
finishes the last item. The registry holds the truth; the queue only carries hints.
"""

from __future__ import annotations

import logging
import os
import socket
from functools import lru_cache

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from service.config import Settings

log = logging.getLogger(__name__)
QUEUE = "zc-batches"
TASK = "zc.batch_chunk"
_services = None


def celery_app(settings: Settings) -> Celery:
    return _app(settings.queue_url, settings.batch_item_timeout_seconds * settings.batch_chunk + 30)


@lru_cache(maxsize=4)
def _app(queue_url: str, time_limit: float) -> Celery:
    app = Celery("zhicheng", broker=queue_url)
    app.conf.update(
        # A chunk past its budget is stopped (its process replaced); its items come back
        # and, interrupted batch_max_attempts times, fail with the reason.
        task_time_limit=time_limit,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        broker_connection_retry_on_startup=True,
        # A chunk's items are leased for batch_lease_seconds; a task seen as lost after an
        # hour goes back to the queue (Redis's visibility timeout).
        broker_transport_options={"visibility_timeout": 3600},
        task_serializer="json",
        accept_content=["json"],
    )
    app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True)(_run_chunk)
    return app


def send_chunks(settings: Settings, job_id: str, item_ids: list[int]) -> None:
    app = celery_app(settings)
    size = settings.batch_chunk
    for start in range(0, len(item_ids), size):
        app.send_task(TASK, args=[job_id, item_ids[start : start + size]], queue=QUEUE)


def queue_depth(settings: Settings) -> int | None:
    """How many chunks wait in the queue, not yet taken by a worker; None when the broker
    does not say or has no such queue (Redis keeps no empty list: an empty queue, or one
    lost in a restart, is not there)."""
    app = celery_app(settings)
    try:
        with app.pool.acquire(block=True, timeout=5) as connection:
            return connection.default_channel.queue_declare(queue=QUEUE, passive=True).message_count
    except Exception as exc:  # noqa: BLE001 - any broker trouble: the caller sends again, as before
        log.debug("batch queue: its length is not known (%s)", exc)
        return None


def _run_chunk(task, job_id: str, item_ids: list[int]) -> dict:
    from functools import partial

    from service.batches.chunks import claim_chunk, work_claimed
    from service.batches.progress import settle
    from service.batches.work import run_items

    services = _worker_services()
    owner = f"celery:{socket.gethostname()}:{os.getpid()}"
    ids = claim_chunk(services, job_id, owner, len(item_ids), ids=item_ids)  # a chunk sent twice is worked once
    result = work_claimed(services, job_id, ids, owner, partial(run_items, services)) if ids else None
    settle(services, job_id)
    done, failed, skipped = (result.done, result.failed, result.skipped) if result else (0, 0, 0)
    return {"done": done, "failed": failed, "skipped": skipped + len(item_ids) - len(ids)}


def _worker_services():
    global _services
    if _services is None:  # the first task of a process that missed worker_process_init
        _load_services()
    return _services


@worker_process_init.connect
def _load_services(**_) -> None:
    """Each worker process keeps the renderer, the keys and the seal images loaded."""
    global _services
    from service.runtime import quiet_libraries, tune_gc
    from service.services import build_services

    tune_gc()
    quiet_libraries()
    _services = build_services(Settings(), worker=True)
    try:
        _services.sealers.current().warm()  # keys, TSA and seal images loaded before the first task
    except Exception as exc:  # noqa: BLE001 - then the first task loads them, and says what fails
        log.warning("batch worker: loading the seals at start failed (%s)", exc)


@worker_process_shutdown.connect
def _close_services(**_) -> None:
    if _services is not None:
        _services.close()
